"""Money received outside the gateway (cash, cheque, bank transfer), recorded by the partner."""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction

from core import idempotency, money
from invoicing.models import Invoice, InvoiceAction
from invoicing.services import (
    invoice_lock,
)
from partners.models import User
from payments.models import (
    OFFLINE_METHODS,
    Payment,
    PaymentMethodType,
)
from payments.services.applying import receive_money
from payments.services.charging import live_attempt_error


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
    idempotency_key: str | None = None,
) -> Payment:
    """Record a check, bank transfer or cash the partner received. Partial amounts are fine; more than
    is due only when the partner says to keep the rest as customer credit. A repeat of the form's
    `idempotency_key` gets the payment its first submit recorded."""
    invoice = invoice_lock(invoice)
    return idempotency.once(
        Payment,
        partner_id=invoice.partner_id,
        key=idempotency_key,
        create=lambda: _record(
            invoice,
            amount=amount,
            method=method,
            received_on=received_on,
            reference=reference,
            keep_excess_as_credit=keep_excess_as_credit,
            actor=actor,
            idempotency_key=idempotency_key,
        ),
    )


def _record(
    invoice: Invoice, *, amount, method, received_on, reference, keep_excess_as_credit, actor, idempotency_key
):
    if method not in OFFLINE_METHODS:
        raise ValidationError({"method": "Choose check, bank transfer, cash or other."})
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
        idempotency_key=idempotency_key,
    )
