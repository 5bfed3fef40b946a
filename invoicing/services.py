"""Every write to an invoice. Each state change locks the row, checks the current state, writes with
`update_fields` and appends a timeline event, so the rules of the lifecycle live here and nowhere else.

    draft -> open -> paid
                  -> void
                  -> uncollectible -> paid / void
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from customers.models import Customer
from invoicing import money
from invoicing.models import (
    OPTIONS_NEEDING_A_METHOD,
    CreditNote,
    EventKind,
    Invoice,
    InvoiceEvent,
    InvoiceLine,
    InvoiceStatus,
    NumberKind,
    PaymentOption,
)
from invoicing.numbering import number_take
from partners.models import Partner, User
from payments.models import PaymentMethod

ISSUED = {InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE}


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


def _event(invoice: Invoice, kind: EventKind, *, actor: User | None, message: str = "", **data) -> None:
    InvoiceEvent.objects.create(
        partner_id=invoice.partner_id,
        invoice=invoice,
        kind=kind,
        message=message,
        actor=actor,
        actor_label="" if actor else "System",
        data=data,
    )


def _lock(invoice: Invoice) -> Invoice:
    return Invoice.objects.select_for_update().select_related("partner", "customer").get(pk=invoice.pk)


def invoice_validate(*, partner: Partner, data: InvoiceInput) -> None:
    """The seed's rules, checked on the server in the partner's time zone. Raises ValidationError by field."""
    errors: dict[str, str] = {}
    customer = data.customer
    if customer is None or customer.partner_id != partner.pk:
        errors["customer"] = "Choose a customer."
    elif customer.is_archived:
        errors["customer"] = f"{customer.display_name} is archived. Restore the customer to invoice them."
    if data.due_date < partner.today():
        errors["due_date"] = (
            f"The due date can't be in the past. Today is {partner.today():%b %-d, %Y} in {partner.timezone}."
        )
    if data.currency not in money.CURRENCY_EXPONENTS:
        errors["currency"] = "Choose one of the listed currencies."
    totals = _totals(data.lines)
    if not data.lines or totals.total <= 0:
        errors["amount"] = "The amount must be greater than zero."
    elif totals.total >= money.MAX_AMOUNT_MINOR:
        errors["amount"] = "That total is too large for one invoice."
    if data.payment_option in OPTIONS_NEEDING_A_METHOD and "customer" not in errors:
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


def _totals(lines: list[LineInput]) -> money.Totals:
    return money.invoice_totals(
        money.line_amounts(quantity=line.quantity, unit_price=line.unit_price, tax_rate=line.tax_rate)
        for line in lines
    )


def _write_lines(invoice: Invoice, lines: list[LineInput]) -> None:
    invoice.lines.all().delete()
    rows = []
    for position, line in enumerate(lines):
        amounts = money.line_amounts(
            quantity=line.quantity, unit_price=line.unit_price, tax_rate=line.tax_rate
        )
        rows.append(
            InvoiceLine(
                partner_id=invoice.partner_id,
                invoice=invoice,
                position=position,
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                tax_rate=line.tax_rate,
                amount=amounts.amount,
                tax_amount=amounts.tax,
            )
        )
    InvoiceLine.objects.bulk_create(rows)
    totals = _totals(lines)
    invoice.subtotal, invoice.tax_total, invoice.total = totals.subtotal, totals.tax, totals.total
    _recompute_due(invoice)


def _recompute_due(invoice: Invoice) -> None:
    invoice.amount_due = max(0, invoice.total - invoice.amount_paid - invoice.amount_credited)


@transaction.atomic
def invoice_create(
    *, partner: Partner, data: InvoiceInput, created_by: User | None, finalize: bool
) -> Invoice:
    invoice_validate(partner=partner, data=data)
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
    if finalize:
        invoice = invoice_finalize(invoice=invoice, actor=created_by)
    return invoice


@transaction.atomic
def invoice_update_draft(*, invoice: Invoice, data: InvoiceInput, actor: User | None) -> Invoice:
    invoice = _lock(invoice)
    if invoice.status != InvoiceStatus.DRAFT:
        raise ValidationError(
            "Only drafts can be edited. An issued invoice is frozen; only its memo can change."
        )
    invoice_validate(partner=invoice.partner, data=data)
    for field in ("customer", "currency", "due_date", "memo", "footer", "payment_option", "payment_method"):
        setattr(invoice, field, getattr(data, field))
    _write_lines(invoice, data.lines)
    invoice.version += 1
    invoice.save()
    _event(invoice, EventKind.UPDATED, actor=actor)
    return invoice


def _party_snapshot(party) -> dict:
    return {
        "name": party.name,
        "legal_name": getattr(party, "legal_name", ""),
        "company": getattr(party, "company", ""),
        "email": party.email,
        "phone": party.phone,
        "tax_id": party.tax_id,
        "address_lines": party.address_lines,
    }


def seller_details(partner: Partner) -> dict:
    """What an invoice shows about the seller: frozen into the invoice at finalization."""
    return _party_snapshot(partner) | {"brand_colour": partner.brand_colour}


def buyer_details(customer: Customer) -> dict:
    return _party_snapshot(customer) | {"display_name": customer.display_name}


@transaction.atomic
def invoice_finalize(*, invoice: Invoice, actor: User | None) -> Invoice:
    """Issue a draft: give it the next number, copy seller and buyer, and freeze it."""
    invoice = _lock(invoice)
    if invoice.status != InvoiceStatus.DRAFT:
        raise ValidationError(f"{invoice.display_number} is already {invoice.get_status_display().lower()}.")
    partner = invoice.partner
    today = partner.today()
    if invoice.due_date < today:
        raise ValidationError({"due_date": "The due date is in the past. Change it before finalizing."})
    if invoice.total <= 0:
        raise ValidationError({"amount": "The amount must be greater than zero."})
    invoice.number = number_take(partner=partner, kind=NumberKind.INVOICE, on_date=today)
    invoice.seller = seller_details(partner)
    invoice.buyer = buyer_details(invoice.customer)
    invoice.status = InvoiceStatus.OPEN
    invoice.issue_date = today
    invoice.finalized_at = timezone.now()
    invoice.version += 1
    invoice.save(
        update_fields=[
            "number",
            "seller",
            "buyer",
            "status",
            "issue_date",
            "finalized_at",
            "version",
            "updated_at",
        ]
    )
    _event(invoice, EventKind.FINALIZED, actor=actor, message=f"Issued as {invoice.number}")
    return invoice


@transaction.atomic
def invoice_update_memo(*, invoice: Invoice, memo: str, actor: User | None) -> Invoice:
    invoice = _lock(invoice)
    if invoice.memo == memo:
        return invoice
    invoice.memo = memo
    invoice.version += 1
    invoice.save(update_fields=["memo", "version", "updated_at"])
    _event(invoice, EventKind.MEMO_CHANGED, actor=actor)
    return invoice


@transaction.atomic
def invoice_void(*, invoice: Invoice, actor: User | None) -> Invoice:
    invoice = _lock(invoice)
    if invoice.status not in ISSUED:
        raise ValidationError(f"A {invoice.get_status_display().lower()} invoice can't be voided.")
    if invoice.amount_paid > 0:
        raise ValidationError("This invoice has payments. Issue a credit note for the unpaid part instead.")
    invoice.status = InvoiceStatus.VOID
    invoice.voided_at = timezone.now()
    invoice.amount_due = 0
    invoice.version += 1
    invoice.save(update_fields=["status", "voided_at", "amount_due", "version", "updated_at"])
    _event(invoice, EventKind.VOIDED, actor=actor, message=f"{invoice.number} keeps its number")
    return invoice


@transaction.atomic
def invoice_mark_uncollectible(*, invoice: Invoice, actor: User | None) -> Invoice:
    invoice = _lock(invoice)
    if invoice.status != InvoiceStatus.OPEN:
        raise ValidationError("Only open invoices can be marked uncollectible.")
    invoice.status = InvoiceStatus.UNCOLLECTIBLE
    invoice.uncollectible_at = timezone.now()
    invoice.version += 1
    invoice.save(update_fields=["status", "uncollectible_at", "version", "updated_at"])
    _event(invoice, EventKind.UNCOLLECTIBLE, actor=actor)
    return invoice


def invoice_apply_payment(*, invoice: Invoice, amount: int, actor: User | None, message: str) -> Invoice:
    """Add a received payment to a locked, issued invoice; marks it paid when nothing is left due.

    Called by payments.services inside its transaction, after it locked the invoice with `invoice_lock`.
    """
    if invoice.status not in ISSUED:
        raise ValidationError(f"A {invoice.get_status_display().lower()} invoice can't take payments.")
    if amount <= 0:
        raise ValidationError({"amount": "Enter an amount greater than zero."})
    if amount > invoice.amount_due:
        due = money.format_money(invoice.amount_due, invoice.currency)
        raise ValidationError({"amount": f"That is more than the {due} still due."})
    invoice.amount_paid += amount
    _recompute_due(invoice)
    fields = ["amount_paid", "amount_due", "version", "updated_at"]
    _event(invoice, EventKind.PAYMENT_RECORDED, actor=actor, message=message, amount=amount)
    if invoice.amount_due == 0:
        invoice.status = InvoiceStatus.PAID
        invoice.paid_at = timezone.now()
        fields += ["status", "paid_at"]
        _event(invoice, EventKind.PAID, actor=actor)
    invoice.version += 1
    invoice.save(update_fields=fields)
    return invoice


def invoice_lock(invoice: Invoice) -> Invoice:
    """For other apps' services that change an invoice inside their own transaction."""
    return _lock(invoice)


@transaction.atomic
def credit_note_create(*, invoice: Invoice, amount: int, reason: str, actor: User | None) -> CreditNote:
    """Reduce what is due on an issued invoice. Crediting everything cancels it (void, number kept)."""
    invoice = _lock(invoice)
    if invoice.status not in ISSUED:
        raise ValidationError(
            f"Credit notes apply to open invoices; this one is {invoice.get_status_display().lower()}."
        )
    if amount <= 0:
        raise ValidationError({"amount": "Enter an amount greater than zero."})
    if amount > invoice.amount_due:
        due = money.format_money(invoice.amount_due, invoice.currency)
        raise ValidationError({"amount": f"A credit note can't exceed the {due} still due."})
    if not reason.strip():
        raise ValidationError({"reason": "Say why, for the customer and your books."})
    partner = invoice.partner
    note = CreditNote.objects.create(
        partner=partner,
        invoice=invoice,
        number=number_take(partner=partner, kind=NumberKind.CREDIT_NOTE, on_date=partner.today()),
        amount=amount,
        currency=invoice.currency,
        reason=reason.strip(),
        created_by=actor,
    )
    invoice.amount_credited += amount
    _recompute_due(invoice)
    fields = ["amount_credited", "amount_due", "version", "updated_at"]
    formatted = money.format_money(amount, invoice.currency)
    _event(invoice, EventKind.CREDIT_NOTE, actor=actor, message=f"{note.number}: {formatted}, {note.reason}")
    if invoice.amount_due == 0:
        cancelled = invoice.amount_paid == 0
        invoice.status = InvoiceStatus.VOID if cancelled else InvoiceStatus.PAID
        if cancelled:
            invoice.voided_at = timezone.now()
            fields.append("voided_at")
        else:
            invoice.paid_at = timezone.now()
            fields.append("paid_at")
        fields.append("status")
        _event(invoice, EventKind.VOIDED if cancelled else EventKind.PAID, actor=actor)
    invoice.version += 1
    invoice.save(update_fields=fields)
    return note


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
    _event(invoice, EventKind.DUPLICATED, actor=actor, message="Copied into a new draft", draft_id=copy.pk)
    return copy
