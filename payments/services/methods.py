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
