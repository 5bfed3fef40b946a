"""Money applied to invoices: customer credit, and money received from any source (gateway or offline)."""

import datetime

from django.db.models import Sum

from core import money
from customers.models import Customer
from invoicing.models import EventKind, Invoice, InvoiceAction
from invoicing.services import (
    invoice_apply_credit,
    invoice_apply_payment,
    invoice_event,
)
from partners.models import User
from payments import signals
from payments.models import (
    CreditKind,
    CustomerCredit,
    Payment,
    PaymentAttempt,
    PaymentMethodType,
)


def credit_balance(*, customer: Customer, currency: str) -> int:
    total = CustomerCredit.objects.filter(
        partner_id=customer.partner_id, customer=customer, currency=currency
    ).aggregate(total=Sum("amount"))["total"]
    return total or 0


def _credit_entry(*, invoice: Invoice, amount: int, kind: CreditKind, actor: User | None, payment=None):
    CustomerCredit.objects.create(
        partner_id=invoice.partner_id,
        customer_id=invoice.customer_id,
        currency=invoice.currency,
        amount=amount,
        kind=kind,
        invoice=invoice,
        payment=payment,
        created_by=actor,
    )


def credit_apply(*, invoice: Invoice, actor: User | None) -> int:
    """Settle what a newly issued invoice owes from the customer's credit in its currency."""
    Customer.objects.select_for_update().filter(pk=invoice.customer_id).first()  # serialises spending
    available = credit_balance(customer=invoice.customer, currency=invoice.currency)
    amount = min(available, invoice.amount_due)
    if amount <= 0:
        return 0
    _credit_entry(invoice=invoice, amount=-amount, kind=CreditKind.APPLIED, actor=actor)
    invoice_apply_credit(invoice=invoice, amount=amount, actor=actor)
    return amount


def credit_restore(*, invoice: Invoice, actor: User | None) -> None:
    """A voided invoice gives back the customer credit it used."""
    _credit_entry(invoice=invoice, amount=invoice.credit_applied, kind=CreditKind.RESTORED, actor=actor)
    formatted = money.format_money(invoice.credit_applied, invoice.currency)
    invoice_event(
        invoice, EventKind.CREDIT_ADDED, actor=actor, message=f"{formatted} returned to customer credit"
    )


def receive_money(
    *,
    invoice: Invoice,
    amount: int,
    method: PaymentMethodType,
    label: str,
    actor: User | None,
    received_on: datetime.date,
    reference: str = "",
    attempt: PaymentAttempt | None = None,
    charge_id: str = "",
    idempotency_key: str | None = None,
    processor_fee: int | None = None,
) -> Payment:
    """Record money that arrived for a locked invoice. What the invoice no longer owes (it was paid
    some other way meanwhile) becomes customer credit: money is never silently dropped."""
    applied = 0 if invoice.refusal(InvoiceAction.TAKE_PAYMENT) else min(amount, invoice.amount_due)
    payment = Payment.objects.create(
        partner_id=invoice.partner_id,
        invoice=invoice,
        customer_id=invoice.customer_id,
        amount=amount,
        credited_amount=amount - applied,
        currency=invoice.currency,
        method=method,
        reference=reference,
        received_on=received_on,
        recorded_by=actor,
        attempt=attempt,
        gateway_charge_id=charge_id,
        processor_fee=processor_fee,
        idempotency_key=idempotency_key,
    )
    if applied:
        invoice_apply_payment(
            invoice=invoice, amount=applied, actor=actor, message=label, payment_id=payment.pk
        )
        signals.payment_received(invoice=invoice, payment_id=payment.pk)
    if amount > applied:
        excess = amount - applied
        _credit_entry(
            invoice=invoice, amount=excess, kind=CreditKind.OVERPAYMENT, actor=actor, payment=payment
        )
        formatted = money.format_money(excess, invoice.currency)
        invoice_event(
            invoice,
            EventKind.CREDIT_ADDED,
            actor=actor,
            message=f"{formatted} more than was due ({label}) kept as customer credit",
        )
    return payment
