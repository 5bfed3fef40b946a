"""Saved payment methods and Auto-Pay, through the gateway."""

import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from customers.models import Customer, PaymentMethod
from partners.models import AuditKind, User
from partners.services import audit_record
from payments.gateways import get_gateway
from payments.gateways.base import (
    BankAccountDetails,
    CardDetails,
    GatewayError,
    MethodRejected,
)

logger = logging.getLogger(__name__)


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
    """Save a card or bank account through the gateway; only its token and display details are kept.
    (The sandbox only: a real processor takes card numbers in its own fields, `payment_method_save`.)"""
    gateway = get_gateway(customer.partner_id)
    return _keep(customer, gateway, lambda: gateway.save_method(details), make_default, actor)


def payment_method_setup(*, customer: Customer):
    """What the page needs to collect a method in the browser (payments.gateways.base.MethodSetup)."""
    try:
        return get_gateway(customer.partner_id).setup_start()
    except GatewayError as error:
        logger.warning("Starting a method setup for customer %s failed: %s", customer.pk, error)
        raise ValidationError("The payment processor is not answering. Try again in a moment.") from None


@transaction.atomic
def payment_method_save(
    *, customer: Customer, reference: str, make_default: bool, actor: User | None = None
) -> PaymentMethod:
    """Keep the method the browser saved with the processor: `reference` is the processor's id (a
    Stripe SetupIntent) or the sandbox script's token; no card number ever reaches this server."""
    gateway = get_gateway(customer.partner_id)
    return _keep(customer, gateway, lambda: gateway.setup_finish(reference), make_default, actor)


def payment_method_new(
    *,
    customer: Customer,
    make_default: bool,
    details: CardDetails | BankAccountDetails | None = None,
    reference: str = "",
    actor: User | None = None,
) -> PaymentMethod:
    """A method from a page's form: the processor's reference for a card entered in its own fields, or
    (the sandbox's bank accounts) the details themselves."""
    if reference:
        return payment_method_save(
            customer=customer, reference=reference, make_default=make_default, actor=actor
        )
    return payment_method_add(customer=customer, details=details, make_default=make_default, actor=actor)


def _keep(customer: Customer, gateway, save, make_default: bool, actor: User | None) -> PaymentMethod:
    try:
        saved = save()
    except MethodRejected as error:
        raise ValidationError(str(error)) from None
    except GatewayError as error:
        logger.warning("Saving a payment method for customer %s failed: %s", customer.pk, error)
        raise ValidationError("The payment processor could not save this method. Try again.") from None
    today = customer.partner.today()  # a card works to the end of its expiry month, the partner's time
    if saved.exp_year and (saved.exp_year, saved.exp_month) < (today.year, today.month):
        raise ValidationError(f"This card expired at the end of {saved.exp_month:02d}/{saved.exp_year}.")
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
