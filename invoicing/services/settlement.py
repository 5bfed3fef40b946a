"""Money on an issued invoice: payments, customer credit and refunds applied, and credit notes."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core import idempotency, money
from invoicing import signals
from invoicing.models import (
    CreditNote,
    EventKind,
    Invoice,
    InvoiceAction,
    InvoiceStatus,
    NumberKind,
)
from invoicing.numbering import number_take
from invoicing.services.base import _event, _lock, _recompute_due, _version_new
from partners.models import User

# The functions below are called by payments.services inside their own
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


def invoice_apply_dispute_loss(*, invoice: Invoice, amount: int, actor: User | None, reason: str) -> Invoice:
    """A payment's dispute was lost: the bank gave the money back to the customer. As in Stripe
    Invoicing the invoice stays as it was (a paid one stays paid: the customer is not chased for
    it again); the books show the loss as a credit note, so what was paid goes down by the amount
    lost and what is due does not change."""
    amount = min(amount, invoice.amount_paid)
    if amount <= 0:
        return invoice
    invoice.amount_paid -= amount
    formatted = money.format_money(amount, invoice.currency)
    _event(invoice, EventKind.DISPUTE, actor=actor, message=f"{formatted} lost to a dispute", amount=amount)
    _credit_note(
        invoice, amount, f"Lost to a dispute: {reason}" if reason else "Lost to a dispute", actor=actor
    )
    _recompute_due(invoice)
    _version_new(invoice)
    invoice.save(update_fields=["amount_paid", "amount_credited", "amount_due", "version", "updated_at"])
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
    if invoice.status == InvoiceStatus.PAID:
        signals.invoice_paid.send(sender=Invoice, invoice=invoice)


@transaction.atomic
def credit_note_create(
    *, invoice: Invoice, amount: int, reason: str, actor: User | None, idempotency_key: str | None = None
) -> CreditNote:
    """Reduce what is due on an issued invoice. Crediting everything cancels it (void, number kept).
    A repeat of the form's `idempotency_key` gets the credit note its first submit issued."""
    invoice = _lock(invoice)
    return idempotency.once(
        CreditNote,
        partner_id=invoice.partner_id,
        key=idempotency_key,
        create=lambda: _credit_note_issue(invoice, amount, reason, actor=actor, key=idempotency_key),
    )


def _credit_note_issue(invoice: Invoice, amount: int, reason: str, *, actor: User | None, key) -> CreditNote:
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
    note = _credit_note(invoice, amount, reason, actor=actor, idempotency_key=key)
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
    if invoice.status == InvoiceStatus.PAID:
        signals.invoice_paid.send(sender=Invoice, invoice=invoice)
    elif invoice.status == InvoiceStatus.VOID:
        signals.invoice_voided.send(sender=Invoice, invoice=invoice, actor=actor, credit_applied=0)
    return note


def _credit_note(
    invoice: Invoice, amount: int, reason: str, *, actor: User | None, idempotency_key: str | None = None
) -> CreditNote:
    partner = invoice.partner
    note = CreditNote.objects.create(
        partner=partner,
        invoice=invoice,
        number=number_take(partner=partner, kind=NumberKind.CREDIT_NOTE, on_date=partner.today()),
        amount=amount,
        currency=invoice.currency,
        reason=reason.strip(),
        idempotency_key=idempotency_key,
        created_by=actor,
    )
    invoice.amount_credited += amount
    formatted = money.format_money(amount, invoice.currency)
    _event(invoice, EventKind.CREDIT_NOTE, actor=actor, message=f"{note.number}: {formatted}, {note.reason}")
    return note
