"""Writes about money received: offline payments now; charges, refunds and credit arrive with payments."""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction

from invoicing import money
from invoicing.models import Invoice
from invoicing.services import invoice_apply_payment, invoice_lock
from partners.models import User
from payments.models import OFFLINE_METHODS, Payment, PaymentMethodType


@transaction.atomic
def payment_record_offline(
    *,
    invoice: Invoice,
    amount: int,
    method: PaymentMethodType,
    received_on: datetime.date,
    reference: str = "",
    actor: User | None,
) -> Payment:
    """Record a check, bank transfer or cash the partner received. Partial amounts are fine."""
    if method not in OFFLINE_METHODS:
        raise ValidationError({"method": "Choose check, bank transfer, cash or other."})
    invoice = invoice_lock(invoice)
    if received_on > invoice.partner.today():
        raise ValidationError({"received_on": "The date received can't be in the future."})
    label = f"{PaymentMethodType(method).label} {money.format_money(amount, invoice.currency)}"
    invoice_apply_payment(
        invoice=invoice, amount=amount, actor=actor, message=label + (f" ({reference})" if reference else "")
    )
    return Payment.objects.create(
        partner_id=invoice.partner_id,
        invoice=invoice,
        customer_id=invoice.customer_id,
        amount=amount,
        currency=invoice.currency,
        method=method,
        reference=reference,
        received_on=received_on,
        recorded_by=actor,
    )
