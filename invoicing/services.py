"""Every write to an invoice. Each state change locks the row, checks the current state, writes with
`update_fields` and appends a timeline event, so the rules of the lifecycle live here and nowhere else.

    draft -> open -> paid
                  -> void
                  -> uncollectible -> paid / void
"""

import datetime
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core import money
from core.formats import format_day
from core.tasks import enqueue
from customers.models import Customer, PaymentMethod
from invoicing import signals
from invoicing.models import (
    OPTIONS_NEEDING_A_METHOD,
    CreditNote,
    EventKind,
    Invoice,
    InvoiceAction,
    InvoiceEvent,
    InvoiceLine,
    InvoiceStatus,
    NumberKind,
    PaymentOption,
)
from invoicing.numbering import number_take
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


def _event(
    invoice: Invoice,
    kind: EventKind,
    *,
    actor: User | None,
    message: str = "",
    actor_label: str = "System",
    **data,
) -> None:
    event = InvoiceEvent(
        partner_id=invoice.partner_id,
        invoice=invoice,
        kind=kind,
        message=message,
        actor=actor,
        actor_label="" if actor else actor_label,
        data=data,
    )
    batch = _batched_events.get()
    if batch is not None:
        batch.append(event)
        return
    event.save(force_insert=True)


# Timeline lines written inside `invoice_events_batched()` wait here and are inserted together.
_batched_events: ContextVar[list[InvoiceEvent] | None] = ContextVar("batched_events", default=None)


@contextmanager
def invoice_events_batched() -> Iterator[None]:
    """For a batch job inside its transaction: the timeline lines written in this block are inserted
    with one query when it ends (nothing at all if the block raises, like everything else it wrote)."""
    events: list[InvoiceEvent] = []
    token = _batched_events.set(events)
    try:
        yield
    finally:
        _batched_events.reset(token)
    InvoiceEvent.objects.bulk_create(events)


def _version_new(invoice: Invoice) -> None:
    """Every change the customer could see on the invoice makes a new version. An issued one's PDF is
    drawn by a worker once this transaction commits (a draft's is drawn when someone asks for it)."""
    from invoicing.tasks import store_invoice_pdf  # tasks wrap these services, so they import them

    invoice.version += 1
    if not invoice.is_draft:
        enqueue(store_invoice_pdf, partner_id=invoice.partner_id, invoice_id=invoice.pk)


def _lock(invoice: Invoice) -> Invoice:
    # Only the invoice row: FOR UPDATE on the joined partner and customer rows would serialise every
    # charge of a partner and deadlock with inserts that key-share-lock the partner (foreign keys).
    return (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("partner", "customer")
        .get(pk=invoice.pk)
    )


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
    totals = lines_totals(lines)
    invoice.subtotal, invoice.tax_total, invoice.total = totals.subtotal, totals.tax, totals.total
    _recompute_due(invoice)


def _recompute_due(invoice: Invoice) -> None:
    settled = invoice.amount_paid + invoice.amount_credited + invoice.credit_applied
    invoice.amount_due = max(0, invoice.total - settled)


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
    if refusal := invoice.refusal(InvoiceAction.FINALIZE):
        raise ValidationError(refusal)
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
    _version_new(invoice)
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
    # payments follows the payment option (pay link, credit, charge), and reminders the emails.
    signals.invoice_issued.send(sender=Invoice, invoice=invoice, actor=actor)
    return invoice


@transaction.atomic
def invoice_update_memo(*, invoice: Invoice, memo: str, actor: User | None) -> Invoice:
    invoice = _lock(invoice)
    if invoice.memo == memo:
        return invoice
    invoice.memo = memo
    _version_new(invoice)
    invoice.save(update_fields=["memo", "version", "updated_at"])
    _event(invoice, EventKind.MEMO_CHANGED, actor=actor)
    return invoice


@transaction.atomic
def invoice_void(*, invoice: Invoice, actor: User | None) -> Invoice:
    invoice = _lock(invoice)
    if refusal := invoice.refusal(InvoiceAction.VOID):
        raise ValidationError(refusal)
    signals.invoice_settling.send(sender=Invoice, invoice=invoice, change="void")
    invoice.status = InvoiceStatus.VOID
    invoice.voided_at = timezone.now()
    invoice.amount_due = 0
    invoice.next_charge_at = None
    _version_new(invoice)
    invoice.save(
        update_fields=["status", "voided_at", "amount_due", "next_charge_at", "version", "updated_at"]
    )
    _event(invoice, EventKind.VOIDED, actor=actor, message=f"{invoice.number} keeps its number")
    signals.invoice_voided.send(
        sender=Invoice, invoice=invoice, actor=actor, credit_applied=invoice.credit_applied
    )
    return invoice


@transaction.atomic
def invoice_mark_uncollectible(*, invoice: Invoice, actor: User | None) -> Invoice:
    invoice = _lock(invoice)
    if refusal := invoice.refusal(InvoiceAction.MARK_UNCOLLECTIBLE):
        raise ValidationError(refusal)
    return _write_off(invoice, actor=actor)


def _write_off(invoice: Invoice, *, actor: User | None, message: str = "") -> Invoice:
    invoice.status = InvoiceStatus.UNCOLLECTIBLE
    invoice.uncollectible_at = timezone.now()
    invoice.next_charge_at = None
    _version_new(invoice)
    invoice.save(update_fields=["status", "uncollectible_at", "next_charge_at", "version", "updated_at"])
    _event(invoice, EventKind.UNCOLLECTIBLE, actor=actor, message=message)
    return invoice


# The functions below are called by payments.services and payments.collection inside their own
# transaction, after they locked the invoice with `invoice_lock`; they are the only writers of the
# invoice's money fields besides credit notes.


def invoice_apply_payment(
    *, invoice: Invoice, amount: int, actor: User | None, message: str, **data
) -> Invoice:
    """Add money received to an issued invoice; marks it paid when nothing is left due."""
    if refusal := invoice.refusal(InvoiceAction.TAKE_PAYMENT):
        raise ValidationError(refusal)
    if amount <= 0:
        raise ValidationError({"amount": "Enter an amount greater than zero."})
    if amount > invoice.amount_due:
        due = money.format_money(invoice.amount_due, invoice.currency)
        raise ValidationError({"amount": f"That is more than the {due} still due."})
    invoice.amount_paid += amount
    _event(invoice, EventKind.PAYMENT_RECORDED, actor=actor, message=message, amount=amount, **data)
    _save_settlement(invoice, ["amount_paid"], actor=actor)
    return invoice


def invoice_apply_credit(*, invoice: Invoice, amount: int, actor: User | None) -> Invoice:
    """Settle part or all of an issued invoice from the customer's credit balance."""
    if invoice.refusal(InvoiceAction.TAKE_PAYMENT) or not 0 < amount <= invoice.amount_due:
        raise ValidationError("Customer credit can only settle what an issued invoice still owes.")
    invoice.credit_applied += amount
    formatted = money.format_money(amount, invoice.currency)
    _event(invoice, EventKind.CREDIT_APPLIED, actor=actor, message=f"{formatted} from customer credit")
    _save_settlement(invoice, ["credit_applied"], actor=actor)
    return invoice


def invoice_apply_refund(
    *, invoice: Invoice, amount: int, actor: User | None, message: str, credit_note_reason: str | None
) -> Invoice:
    """Money given back. With a credit note the customer owes that much less, so a paid invoice stays
    paid; without one the amount is owed again and a paid invoice reopens."""
    if not 0 < amount <= invoice.amount_paid:
        raise ValidationError({"amount": "A refund can't be more than what was paid."})
    invoice.amount_paid -= amount
    invoice.amount_refunded += amount
    fields = ["amount_paid", "amount_refunded", "amount_credited"]
    _event(invoice, EventKind.REFUNDED, actor=actor, message=message, amount=amount)
    if credit_note_reason is not None:
        _credit_note(invoice, amount, credit_note_reason, actor=actor)
    _recompute_due(invoice)
    if invoice.status == InvoiceStatus.PAID and invoice.amount_due > 0:
        invoice.status, invoice.paid_at = InvoiceStatus.OPEN, None
        fields += ["status", "paid_at"]
        _event(invoice, EventKind.UPDATED, actor=actor, message="Reopened: the refunded amount is owed again")
    _version_new(invoice)
    invoice.save(update_fields=[*fields, "amount_due", "version", "updated_at"])
    return invoice


def _save_settlement(invoice: Invoice, fields: list[str], *, actor: User | None) -> None:
    """Recompute what is due after money arrived; paid when nothing is left, and stop charging."""
    _recompute_due(invoice)
    fields = [*fields, "amount_due", "version", "updated_at"]
    if invoice.amount_due == 0:
        invoice.status = InvoiceStatus.PAID
        invoice.paid_at = timezone.now()
        invoice.next_charge_at = None
        invoice.collection_failed_at = None
        fields += ["status", "paid_at", "next_charge_at", "collection_failed_at"]
        _event(invoice, EventKind.PAID, actor=actor)
    _version_new(invoice)
    invoice.save(update_fields=fields)


def invoice_schedule_charge(
    *, invoice: Invoice, at: datetime.datetime | None, message: str = "", actor: User | None = None
) -> None:
    """When the due-date job should next charge this invoice (None: not at all)."""
    invoice.next_charge_at = at
    invoice.save(update_fields=["next_charge_at", "updated_at"])
    if at is not None and message:
        _event(invoice, EventKind.CHARGE_SCHEDULED, actor=actor, message=message)


def invoice_note_charge_outcome(*, invoice: Invoice, failed: bool) -> None:
    """A charge of a saved method failed (the invoice needs attention until one succeeds) or succeeded."""
    failed_at = timezone.now() if failed else None
    if (invoice.charge_failed_at is None) == (failed_at is None):
        return
    invoice.charge_failed_at = failed_at
    invoice.save(update_fields=["charge_failed_at", "updated_at"])


def invoices_unschedule_charge(*, invoice_ids: list[int]) -> None:
    """The due-date job took these invoices (locked by the caller): no further scheduled charge."""
    Invoice.objects.filter(pk__in=invoice_ids).update(next_charge_at=None, updated_at=timezone.now())


def invoice_stop_collection(*, invoice: Invoice, reason: str, write_off: bool) -> None:
    """Automatic charging gave up: the partner sees the invoice under "Needs attention"."""
    invoice.next_charge_at = None
    invoice.collection_failed_at = timezone.now()
    invoice.save(update_fields=["next_charge_at", "collection_failed_at", "updated_at"])
    _event(invoice, EventKind.COLLECTION_STOPPED, actor=None, message=reason)
    if write_off and invoice.status == InvoiceStatus.OPEN:
        _write_off(invoice, actor=None, message="Automatic: the last retry failed")


def invoice_event(
    invoice: Invoice,
    kind: EventKind,
    *,
    actor: User | None,
    message: str,
    actor_label: str = "System",
    **data,
) -> None:
    """A timeline line written by another app (payment attempts, emails, the customer's pay page)."""
    _event(invoice, kind, actor=actor, message=message, actor_label=actor_label, **data)


def invoice_lock(invoice: Invoice) -> Invoice:
    """For other apps' services that change an invoice inside their own transaction."""
    return _lock(invoice)


def invoices_lock(*, invoice_ids: list[int]) -> dict[int, Invoice]:
    """Lock several invoices at once, in id order (so two callers never wait on each other in a
    cycle), for a batch job recording many outcomes in one transaction."""
    return (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("partner", "customer")
        .order_by("pk")
        .in_bulk(invoice_ids)
    )


@transaction.atomic
def credit_note_create(*, invoice: Invoice, amount: int, reason: str, actor: User | None) -> CreditNote:
    """Reduce what is due on an issued invoice. Crediting everything cancels it (void, number kept)."""
    invoice = _lock(invoice)
    if refusal := invoice.refusal(InvoiceAction.CREDIT_NOTE):
        raise ValidationError(refusal)
    # Refused while a charge is in flight: settling now could charge a customer who owes nothing.
    signals.invoice_settling.send(sender=Invoice, invoice=invoice, change="credit_note")
    if amount <= 0:
        raise ValidationError({"amount": "Enter an amount greater than zero."})
    if amount > invoice.amount_due:
        due = money.format_money(invoice.amount_due, invoice.currency)
        raise ValidationError({"amount": f"A credit note can't exceed the {due} still due."})
    if not reason.strip():
        raise ValidationError({"reason": "Say why, for the customer and your books."})
    note = _credit_note(invoice, amount, reason, actor=actor)
    _recompute_due(invoice)
    fields = ["amount_credited", "amount_due", "version", "updated_at"]
    if invoice.amount_due == 0:
        invoice.next_charge_at = None
        fields.append("next_charge_at")
        cancelled = invoice.amount_paid == 0 and invoice.credit_applied == 0
        invoice.status = InvoiceStatus.VOID if cancelled else InvoiceStatus.PAID
        if cancelled:
            invoice.voided_at = timezone.now()
            fields.append("voided_at")
        else:
            invoice.paid_at = timezone.now()
            fields.append("paid_at")
        fields.append("status")
        _event(invoice, EventKind.VOIDED if cancelled else EventKind.PAID, actor=actor)
    _version_new(invoice)
    invoice.save(update_fields=fields)
    return note


def _credit_note(invoice: Invoice, amount: int, reason: str, *, actor: User | None) -> CreditNote:
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
    formatted = money.format_money(amount, invoice.currency)
    _event(invoice, EventKind.CREDIT_NOTE, actor=actor, message=f"{note.number}: {formatted}, {note.reason}")
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
