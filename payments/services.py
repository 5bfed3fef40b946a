"""Writes about payment methods, money received outside the gateway, refunds and gateway webhooks.
Charging saved methods lives in payments.collection."""

import datetime
import logging
from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_scopes import scopes_disabled

from core import money
from customers.models import Customer, PaymentMethod
from invoicing.models import Invoice, InvoiceAction
from invoicing.services import invoice_apply_refund, invoice_lock
from partners.models import AuditKind, User
from partners.services import audit_record
from payments import signals
from payments.collection import attempt_record, live_attempt_error, receive_money
from payments.gateways import get_gateway
from payments.gateways.base import (
    BankAccountDetails,
    CardDetails,
    GatewayError,
    GatewayUnavailable,
    MethodRejected,
)
from payments.models import (
    OFFLINE_METHODS,
    Payment,
    PaymentAttempt,
    PaymentMethodType,
    Refund,
    RefundStatus,
    WebhookDelivery,
)

logger = logging.getLogger(__name__)


# Payment methods -------------------------------------------------------------------------------------


def _audit(customer: Customer, kind: AuditKind, actor: User | None, message: str) -> None:
    """The activity log line of a change to what a customer is charged with. Without a user, the customer
    did it on the pay portal."""
    audit_record(
        partner=customer.partner,
        kind=kind,
        actor=actor,
        actor_label="Customer",
        message=f"{customer.display_name}: {message}",
    )


@transaction.atomic
def payment_method_add(
    *,
    customer: Customer,
    details: CardDetails | BankAccountDetails,
    make_default: bool,
    actor: User | None = None,
) -> PaymentMethod:
    """Save a card or bank account through the gateway; only its token and display details are kept."""
    gateway = get_gateway()
    try:
        saved = gateway.save_method(details)
    except MethodRejected as error:
        raise ValidationError(str(error)) from None
    except GatewayError as error:
        logger.warning("Saving a payment method for customer %s failed: %s", customer.pk, error)
        raise ValidationError("The payment processor could not save this method. Try again.") from None
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    has_default = PaymentMethod.objects.filter(customer=customer, removed_at=None, is_default=True).exists()
    if make_default and has_default:
        PaymentMethod.objects.filter(customer=customer, is_default=True).update(is_default=False)
    method = PaymentMethod.objects.create(
        partner_id=customer.partner_id,
        customer=customer,
        kind=saved.kind.value,
        brand=saved.brand,
        bank_name=saved.bank_name,
        last4=saved.last4,
        exp_month=saved.exp_month,
        exp_year=saved.exp_year,
        gateway=gateway.name,
        gateway_token=saved.token,
        is_default=make_default or not has_default,
    )
    _audit(
        customer,
        AuditKind.PAYMENT_METHOD_ADDED,
        actor,
        f"{method}{' (default)' if method.is_default else ''}",
    )
    return method


@transaction.atomic
def payment_method_set_default(*, method: PaymentMethod, actor: User | None = None) -> PaymentMethod:
    customer = Customer.objects.select_for_update().filter(pk=method.customer_id).first()
    if method.removed_at is not None:
        raise ValidationError("This payment method was removed.")
    PaymentMethod.objects.filter(customer_id=method.customer_id, is_default=True).update(is_default=False)
    method.is_default = True
    method.save(update_fields=["is_default"])
    _audit(customer, AuditKind.DEFAULT_METHOD_CHANGED, actor, f"{method} is the default")
    return method


@transaction.atomic
def payment_method_remove(*, method: PaymentMethod, actor: User | None = None) -> PaymentMethod:
    """Forget a method (kept for the history of past payments). The newest other one becomes default;
    with none left, Auto-Pay turns off, since there is nothing to charge."""
    customer = Customer.objects.select_for_update().get(pk=method.customer_id)
    if method.removed_at is not None:
        return method
    was_default = method.is_default
    method.removed_at = timezone.now()
    method.is_default = False
    method.save(update_fields=["removed_at", "is_default"])
    remaining = PaymentMethod.objects.filter(customer=customer, removed_at=None).order_by(
        "-created_at", "-id"
    )
    if was_default and (successor := remaining.first()):
        successor.is_default = True
        successor.save(update_fields=["is_default"])
    autopay_off = not remaining.exists() and customer.autopay
    if autopay_off:
        customer.autopay = False
        customer.save(update_fields=["autopay", "updated_at"])
    note = "; Auto-Pay turned off, no method left" if autopay_off else ""
    _audit(customer, AuditKind.PAYMENT_METHOD_REMOVED, actor, f"{method}{note}")
    return method


@transaction.atomic
def customer_set_autopay(*, customer: Customer, enabled: bool, actor: User | None = None) -> Customer:
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if enabled and not PaymentMethod.objects.filter(customer=customer, removed_at=None).exists():
        raise ValidationError(
            "Add a payment method first: Auto-Pay charges the default one on each due date."
        )
    if customer.autopay != enabled:
        customer.autopay = enabled
        customer.save(update_fields=["autopay", "updated_at"])
        _audit(customer, AuditKind.AUTOPAY_CHANGED, actor, "Auto-Pay on" if enabled else "Auto-Pay off")
    return customer


# Money received outside the gateway -----------------------------------------------------------------


@transaction.atomic
def payment_record_offline(
    *,
    invoice: Invoice,
    amount: int,
    method: PaymentMethodType,
    received_on: datetime.date,
    reference: str = "",
    keep_excess_as_credit: bool = False,
    actor: User | None,
) -> Payment:
    """Record a check, bank transfer or cash the partner received. Partial amounts are fine; more than
    is due only when the partner says to keep the rest as customer credit."""
    if method not in OFFLINE_METHODS:
        raise ValidationError({"method": "Choose check, bank transfer, cash or other."})
    invoice = invoice_lock(invoice)
    today = invoice.partner.today()
    if received_on > today:
        raise ValidationError({"received_on": "The date received can't be in the future."})
    if received_on < today.replace(year=today.year - 10, day=min(today.day, 28)):
        raise ValidationError({"received_on": "The date received can be at most 10 years ago."})
    if refusal := invoice.refusal(InvoiceAction.TAKE_PAYMENT):
        raise ValidationError(refusal)
    # Money may be on its way through the gateway (or a committed attempt is about to be sent by the
    # janitor): settling the invoice now would get the customer charged for a paid invoice.
    if error := live_attempt_error(invoice):
        raise ValidationError(error)
    if amount <= 0:
        raise ValidationError({"amount": "Enter an amount greater than zero."})
    if amount > invoice.amount_due and not keep_excess_as_credit:
        due = money.format_money(invoice.amount_due, invoice.currency)
        raise ValidationError(
            {
                "amount": f"That is more than the {due} still due. To record it anyway, tick "
                "“Keep the extra as customer credit”."
            }
        )
    label = f"{PaymentMethodType(method).label} {money.format_money(amount, invoice.currency)}"
    return receive_money(
        invoice=invoice,
        amount=amount,
        method=method,
        label=label + (f" ({reference})" if reference else ""),
        actor=actor,
        received_on=received_on,
        reference=reference,
    )


# Refunds ---------------------------------------------------------------------------------------------


def refund_create(
    *,
    payment: Payment,
    amount: int,
    reason: str,
    reduce_amount_owed: bool,
    actor: User | None,
    idempotency_key: str | None = None,
) -> Refund:
    """Give money back from a payment. Must run outside a transaction: the refund row is committed
    before the gateway is called, so a crash leaves a row the janitor finishes with the same key."""
    if transaction.get_connection().in_atomic_block:
        raise RuntimeError("refund_create commits before calling the gateway; call it outside a transaction")
    refund = _refund_begin(
        payment=payment,
        amount=amount,
        reason=reason,
        reduce_amount_owed=reduce_amount_owed,
        actor=actor,
        idempotency_key=idempotency_key,
    )
    if refund.status != RefundStatus.PENDING:
        return refund
    return refund_execute(refund_id=refund.pk)


@transaction.atomic
def _refund_begin(*, payment, amount, reason, reduce_amount_owed, actor, idempotency_key) -> Refund:
    invoice = invoice_lock(payment.invoice)
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if idempotency_key and (earlier := Refund.objects.filter(idempotency_key=idempotency_key).first()):
        return earlier  # the same form submitted twice
    if not reason.strip():
        raise ValidationError({"reason": "Say why, for the customer and your books."})
    pending = sum(
        Refund.objects.filter(payment=payment, status=RefundStatus.PENDING).values_list("amount", flat=True)
    )
    refundable = payment.refundable - pending
    if amount <= 0:
        raise ValidationError({"amount": "Enter an amount greater than zero."})
    if amount > refundable:
        left = money.format_money(max(refundable, 0), payment.currency)
        raise ValidationError(
            {"amount": f"That is more than the {left} of this payment that can be refunded."}
        )
    fields = {"idempotency_key": idempotency_key} if idempotency_key else {}
    try:
        with transaction.atomic():
            return Refund.objects.create(
                partner_id=invoice.partner_id,
                payment=payment,
                invoice=invoice,
                amount=amount,
                currency=payment.currency,
                reason=reason.strip()[:500],
                reduce_amount_owed=reduce_amount_owed,
                created_by=actor,
                **fields,
            )
    except IntegrityError:
        raise ValidationError("This refund was already submitted.") from None


def refund_execute(*, refund_id: int) -> Refund:
    """Send a pending refund to the gateway (same key every time) and record the result."""
    with scopes_disabled():  # also the janitor's, across partners
        refund = Refund.objects.select_related("payment").get(pk=refund_id)
    if refund.status != RefundStatus.PENDING:
        return refund
    if not refund.payment.gateway_charge_id:
        return _refund_finish(refund_id=refund_id, gateway_refund_id="")  # money returned by hand
    try:
        result = get_gateway().refund(
            charge_id=refund.payment.gateway_charge_id,
            amount=refund.amount,
            idempotency_key=refund.idempotency_key,
        )
    except GatewayUnavailable as error:
        logger.warning(
            "Refund %s: no answer from the gateway (%s); the janitor will send it again", refund_id, error
        )
        return refund
    except GatewayError as error:
        return _refund_fail(refund_id=refund_id, message=str(error))
    return _refund_finish(refund_id=refund_id, gateway_refund_id=result.id)


@transaction.atomic
def _refund_finish(*, refund_id: int, gateway_refund_id: str) -> Refund:
    with scopes_disabled():  # also the janitor's and webhooks', across partners
        invoice_id = Refund.objects.values_list("invoice_id", flat=True).get(pk=refund_id)
        invoice = invoice_lock(Invoice(pk=invoice_id))
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        if refund.status != RefundStatus.PENDING:
            return refund
        payment = Payment.objects.select_for_update().get(pk=refund.payment_id)
        refund.status, refund.gateway_refund_id, refund.completed_at = (
            RefundStatus.SUCCEEDED,
            gateway_refund_id,
            timezone.now(),
        )
        refund.save(update_fields=["status", "gateway_refund_id", "completed_at"])
        payment.amount_refunded += refund.amount
        payment.save(update_fields=["amount_refunded"])
        invoice_apply_refund(
            invoice=invoice,
            amount=refund.amount,
            actor=refund.created_by,
            message=f"{money.format_money(refund.amount, refund.currency)} refunded: {refund.reason}",
            credit_note_reason=f"Refund: {refund.reason}" if refund.reduce_amount_owed else None,
        )
        signals.refund_succeeded.send(sender=Refund, refund=refund, invoice=invoice)
        return refund


@transaction.atomic
def _refund_fail(*, refund_id: int, message: str) -> Refund:
    with scopes_disabled():  # also the janitor's and webhooks', across partners
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        if refund.status == RefundStatus.PENDING:
            refund.status, refund.failure_message, refund.completed_at = (
                RefundStatus.FAILED,
                message[:300],
                timezone.now(),
            )
            refund.save(update_fields=["status", "failure_message", "completed_at"])
        return refund


def refunds_resolve_stale(*, older_than: datetime.timedelta) -> int:
    with scopes_disabled():  # the janitor: stale refunds of every partner
        ids = list(
            Refund.objects.filter(
                status=RefundStatus.PENDING, created_at__lt=timezone.now() - older_than
            ).values_list("pk", flat=True)[:500]
        )
    for refund_id in ids:
        refund_execute(refund_id=refund_id)
    return len(ids)


# Gateway webhooks ------------------------------------------------------------------------------------


def webhook_receive(*, body: bytes, headers: Mapping[str, str]) -> str:
    """Verify, deduplicate and apply one gateway webhook. The event is only a trigger: the charge is
    read again from the gateway and applied under the invoice's lock, so duplicated or out-of-order
    deliveries change nothing. Raises WebhookInvalid for forged or stale ones."""
    gateway = get_gateway()
    event = gateway.parse_webhook(body, headers)
    if WebhookDelivery.objects.filter(gateway=gateway.name, event_id=event.id).exists():
        return "duplicate"
    charge = gateway.get_charge(event.charge_id)
    with scopes_disabled():  # a processor's webhook: its charge id finds the partner
        attempt = PaymentAttempt.objects.filter(
            gateway=gateway.name, idempotency_key=charge.idempotency_key
        ).first()
    with transaction.atomic():
        try:
            with transaction.atomic():
                WebhookDelivery.objects.create(
                    gateway=gateway.name, event_id=event.id, event_type=event.type, charge_id=event.charge_id
                )
        except IntegrityError:
            return "duplicate"
        if attempt is None:
            logger.info("Webhook %s is about charge %s, which is not ours; ignored", event.id, charge.id)
            return "ignored"
        attempt_record(attempt_id=attempt.pk, charge=charge)
    return "applied"
