"""What every write to an invoice shares: the row lock, the timeline line, a new version, the amount due."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from core.tasks import enqueue
from invoicing import signals
from invoicing.models import (
    EventKind,
    Invoice,
    InvoiceEvent,
)
from partners.models import User


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


def _recompute_due(invoice: Invoice) -> None:
    settled = invoice.amount_paid + invoice.amount_credited + invoice.credit_applied
    invoice.amount_due = max(0, invoice.total - settled)


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


def amount_refusal(*, partner, amount: int, currency: str) -> str | None:
    """Why an amount could never be collected, as the apps above say (invoicing.signals.amount_checking),
    or None. Every way of billing (the invoice form, a recurring payment, the API) asks this."""
    if amount <= 0:
        return None
    answers = signals.amount_checking.send(sender=Invoice, partner=partner, amount=amount, currency=currency)
    return next((answer for _, answer in answers if answer), None)


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
