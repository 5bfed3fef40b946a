"""Refunds: begun with their own key, executed at the gateway, finished or failed, stale ones resolved."""

import datetime
import logging

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_scopes import scopes_disabled

from core import idempotency, money
from invoicing.models import Invoice
from invoicing.services import (
    invoice_apply_refund,
    invoice_lock,
)
from partners.models import User
from payments import signals
from payments.gateways import get_gateway
from payments.gateways.base import GatewayError, GatewayUnavailable
from payments.models import (
    Payment,
    Refund,
    RefundStatus,
)

logger = logging.getLogger(__name__)


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
    before the gateway is called, so a crash leaves a row the janitor finishes with the same key.

    A repeat of the form's `idempotency_key` gets the refund its first submit made, as it is now: the
    first submit (or the janitor) is the one that asks the gateway, with that same key."""
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
    if refund.status != RefundStatus.PENDING or idempotency.replayed(refund):
        return refund
    return refund_execute(refund_id=refund.pk)


@transaction.atomic
def _refund_begin(*, payment, amount, reason, reduce_amount_owed, actor, idempotency_key) -> Refund:
    invoice = invoice_lock(payment.invoice)
    payment = Payment.objects.select_for_update().get(pk=payment.pk)

    def begin() -> Refund:
        if not reason.strip():
            raise ValidationError({"reason": "Say why, for the customer and your books."})
        pending = Refund.objects.filter(payment=payment, status=RefundStatus.PENDING).values_list(
            "amount", flat=True
        )
        refundable = payment.refundable - sum(pending)
        if amount <= 0:
            raise ValidationError({"amount": "Enter an amount greater than zero."})
        if amount > refundable:
            left = money.format_money(max(refundable, 0), payment.currency)
            raise ValidationError(
                {"amount": f"That is more than the {left} of this payment that can be refunded."}
            )
        return Refund.objects.create(
            partner_id=invoice.partner_id,
            payment=payment,
            invoice=invoice,
            amount=amount,
            currency=payment.currency,
            reason=reason.strip()[:500],
            reduce_amount_owed=reduce_amount_owed,
            created_by=actor,
            **({"idempotency_key": idempotency_key} if idempotency_key else {}),
        )

    try:
        return idempotency.once(Refund, partner_id=invoice.partner_id, key=idempotency_key, create=begin)
    except IntegrityError:  # the key is another partner's refund's (keys are unique platform-wide)
        raise ValidationError("This form is out of date. Reload the page and try again.") from None


def refund_execute(*, refund_id: int) -> Refund:
    """Send a pending refund to the gateway (same key every time) and record the result."""
    with scopes_disabled():  # also the janitor's, across partners
        refund = Refund.objects.select_related("payment__attempt").get(pk=refund_id)
    if refund.status != RefundStatus.PENDING:
        return refund
    if not refund.payment.gateway_charge_id:
        return _refund_finish(refund_id=refund_id, gateway_refund_id="")  # money returned by hand
    attempt = refund.payment.attempt
    try:
        gateway = get_gateway(refund.partner_id, processor=attempt.gateway if attempt else None)
        result = gateway.refund(
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
