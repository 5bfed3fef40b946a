"""The lifecycle of an issued invoice: finalize, memo, void, uncollectible, and when it is charged.

draft -> open -> paid
              -> void
              -> uncollectible -> paid / void
"""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from customers.models import Customer
from invoicing import signals
from invoicing.models import (
    EventKind,
    Invoice,
    InvoiceAction,
    InvoiceStatus,
    NumberKind,
)
from invoicing.numbering import number_take
from invoicing.services.base import _event, _lock, _version_new, amount_refusal
from partners.models import Partner, User


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
    if refusal := amount_refusal(partner=partner, amount=invoice.total, currency=invoice.currency):
        raise ValidationError({"amount": refusal})  # a draft saved before the processor was chosen
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
    signals.invoice_marked_uncollectible.send(sender=Invoice, invoice=invoice, actor=actor)
    return invoice


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
