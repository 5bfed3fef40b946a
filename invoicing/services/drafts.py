"""Drafts: what an invoice holds before it is issued (validated, priced, written, duplicated)."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from core import money
from core.formats import format_day
from customers.models import Customer, PaymentMethod
from invoicing import signals
from invoicing.models import (
    OPTIONS_NEEDING_A_METHOD,
    EventKind,
    Invoice,
    InvoiceAction,
    InvoiceLine,
    PaymentOption,
)
from invoicing.services.base import _event, _lock, _recompute_due, _version_new, amount_refusal
from invoicing.services.lifecycle import invoice_finalize
from partners.models import Partner, User


@dataclass(frozen=True)
class LineInput:
    description: str
    quantity: Decimal
    unit_price: int  # minor units
    tax_rate: Decimal = Decimal(0)


@dataclass(frozen=True)
class InvoiceInput:
    customer: Customer
    due_date: datetime.date
    currency: str
    lines: list[LineInput]
    payment_option: PaymentOption = PaymentOption.CHARGE_LATER
    payment_method: PaymentMethod | None = None
    memo: str = ""
    footer: str = ""


MAX_DUE_AHEAD = datetime.timedelta(days=3653)


def invoice_validate(*, partner: Partner, data: InvoiceInput, method_required: bool = True) -> None:
    """The seed's rules, checked on the server in the partner's time zone. Raises ValidationError by field.

    `method_required=False` lets a charge option through without a saved method (recurring invoices:
    the invoice is issued anyway and shows under "Needs attention" rather than not existing)."""
    errors: dict[str, str] = {}
    customer = data.customer
    if customer is None or customer.partner_id != partner.pk:
        errors["customer"] = "Choose a customer."
    elif customer.is_archived:
        errors["customer"] = f"{customer.display_name} is archived. Restore the customer to invoice them."
    if data.due_date < partner.today():
        today = format_day(partner.today())
        errors["due_date"] = f"The due date can't be in the past. Today is {today} in {partner.timezone}."
    elif data.due_date > partner.today() + MAX_DUE_AHEAD:
        # Reminders and pay links count days past the due date; near 9999-12-31 that overflows.
        errors["due_date"] = "The due date can be at most 10 years from today."
    if data.currency not in money.CURRENCY_EXPONENTS:
        errors["currency"] = "Choose one of the listed currencies."
    totals = lines_totals(data.lines)
    if not data.lines or totals.total <= 0:
        errors["amount"] = "The amount must be greater than zero."
    elif totals.total >= money.MAX_AMOUNT_MINOR:
        errors["amount"] = "That total is too large for one invoice."
    elif refusal := amount_refusal(partner=partner, amount=totals.total, currency=data.currency):
        errors["amount"] = refusal
    if method_required and data.payment_option in OPTIONS_NEEDING_A_METHOD and "customer" not in errors:
        method_error = _payment_method_error(data)
        if method_error:
            errors["payment_option"] = method_error
    if errors:
        raise ValidationError(errors)


def _payment_method_error(data: InvoiceInput) -> str | None:
    customer = data.customer
    methods = PaymentMethod.objects.filter(customer=customer, removed_at=None)
    label = PaymentOption(data.payment_option).label
    if not methods.exists():
        return (
            f"{label} needs a saved payment method, and {customer.display_name} has none. "
            "Add a payment method to the customer, or choose Email payment link."
        )
    chosen = data.payment_method
    if data.payment_option == PaymentOption.CHARGE_METHOD_ON_FILE and (
        chosen is None or not methods.filter(pk=chosen.pk).exists()
    ):
        return f"Choose which of {customer.display_name}'s saved payment methods to charge."
    return None


def lines_totals(lines: list[LineInput]) -> money.Totals:
    """Subtotal, tax and total of lines, as an invoice with these lines would have them."""
    return money.invoice_totals(
        money.line_amounts(quantity=line.quantity, unit_price=line.unit_price, tax_rate=line.tax_rate)
        for line in lines
    )


def _write_lines(invoice: Invoice, lines: list[LineInput]) -> None:
    """Store the lines as they are priced (quantity and rate at their stored precision) with each one's
    share of its rate's tax, and the totals of core.money.invoice_totals."""
    invoice.lines.all().delete()
    priced = [
        money.line_amounts(quantity=line.quantity, unit_price=line.unit_price, tax_rate=line.tax_rate)
        for line in lines
    ]
    totals = money.invoice_totals(priced)
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            partner_id=invoice.partner_id,
            invoice=invoice,
            position=position,
            description=line.description,
            quantity=amounts.quantity,
            unit_price=line.unit_price,
            tax_rate=amounts.tax_rate,
            amount=amounts.amount,
            tax_amount=tax_share,
        )
        for position, (line, amounts, tax_share) in enumerate(
            zip(lines, priced, totals.line_taxes, strict=True)
        )
    )
    invoice.subtotal, invoice.tax_total, invoice.total = totals.subtotal, totals.tax, totals.total
    _recompute_due(invoice)


@transaction.atomic
def invoice_create(
    *,
    partner: Partner,
    data: InvoiceInput,
    created_by: User | None,
    finalize: bool,
    method_required: bool = True,
) -> Invoice:
    invoice_validate(partner=partner, data=data, method_required=method_required)
    invoice = Invoice.objects.create(
        partner=partner,
        customer=data.customer,
        currency=data.currency,
        due_date=data.due_date,
        memo=data.memo,
        footer=data.footer,
        payment_option=data.payment_option,
        payment_method=data.payment_method,
        created_by=created_by,
    )
    _write_lines(invoice, data.lines)
    invoice.save(update_fields=["subtotal", "tax_total", "total", "amount_due"])
    _event(invoice, EventKind.CREATED, actor=created_by)
    signals.invoice_created.send(sender=Invoice, invoice=invoice, actor=created_by)
    if finalize:
        invoice = invoice_finalize(invoice=invoice, actor=created_by)
    return invoice


@transaction.atomic
def invoice_update_draft(*, invoice: Invoice, data: InvoiceInput, actor: User | None) -> Invoice:
    invoice = _lock(invoice)
    if refusal := invoice.refusal(InvoiceAction.EDIT):
        raise ValidationError(refusal)
    invoice_validate(partner=invoice.partner, data=data)
    for field in ("customer", "currency", "due_date", "memo", "footer", "payment_option", "payment_method"):
        setattr(invoice, field, getattr(data, field))
    _write_lines(invoice, data.lines)
    _version_new(invoice)
    invoice.save()
    _event(invoice, EventKind.UPDATED, actor=actor)
    return invoice


@transaction.atomic
def invoice_duplicate(*, invoice: Invoice, actor: User | None) -> Invoice:
    """A new draft with the same customer, lines and texts, due after the partner's usual terms."""
    partner = invoice.partner
    copy = Invoice.objects.create(
        partner=partner,
        customer=invoice.customer,
        currency=invoice.currency,
        due_date=partner.today() + datetime.timedelta(days=partner.payment_terms_days),
        memo=invoice.memo,
        footer=invoice.footer,
        payment_option=PaymentOption.CHARGE_LATER,
        created_by=actor,
    )
    lines = [
        LineInput(
            description=line.description,
            quantity=line.quantity,
            unit_price=line.unit_price,
            tax_rate=line.tax_rate,
        )
        for line in invoice.lines.all()
    ]
    _write_lines(copy, lines)
    copy.save(update_fields=["subtotal", "tax_total", "total", "amount_due"])
    _event(copy, EventKind.CREATED, actor=actor, message=f"Duplicated from {invoice.display_number}")
    signals.invoice_created.send(sender=Invoice, invoice=copy, actor=actor)
    _event(invoice, EventKind.DUPLICATED, actor=actor, message="Copied into a new draft", draft_id=copy.pk)
    return copy
