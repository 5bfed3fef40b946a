"""What payments announces, for reminders (above it) to act on; payments imports no app above it.

Signals are sent inside the transaction of the change they report, so what a receiver writes commits or
rolls back with it.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.dispatch import Signal

# An issued invoice enters collection, before its payment option acts (so an email planned now is
# drawn before any charge is made). kwargs: invoice, actor. reminders plans the invoice's emails.
collection_started = Signal()

# Money was applied to invoices. kwargs: receipts, a list of (invoice, payment_id). reminders plans the
# receipt emails. One send per payment, or one per batch inside `receipts_batched()`.
payments_received = Signal()

# A charge of a saved payment method failed. kwargs: invoice, attempt_id. reminders plans the emails.
charge_failed = Signal()

# Someone asked for a fresh pay link by email (an expired link, or the lookup page). kwargs: invoice.
# reminders emails one to the customer's address on file.
pay_link_requested = Signal()

# Someone asked for a portal sign-in link. kwargs: partner, email (lower-cased). reminders emails one
# if the address is a customer's.
portal_sign_in_requested = Signal()

# A refund went through (the gateway, or money returned by hand). kwargs: refund, invoice.
refund_succeeded = Signal()

# The customer disputed a card payment with their bank (a chargeback opened). kwargs: dispute, invoice.
# reminders alerts the partner; api sends `payment.disputed`.
payment_disputed = Signal()

_batch: ContextVar[list | None] = ContextVar("payments_received_batch", default=None)


def payment_received(*, invoice, payment_id: int) -> None:
    """Announce one payment applied to `invoice`, now or with the batch this runs in."""
    batch = _batch.get()
    if batch is not None:
        batch.append((invoice, payment_id))
        return
    payments_received.send(sender=None, receipts=[(invoice, payment_id)])


@contextmanager
def receipts_batched() -> Iterator[None]:
    """For a batch job inside its transaction: the payments announced in this block are announced
    together when it ends (and not at all if it raises)."""
    receipts: list = []
    token = _batch.set(receipts)
    try:
        yield
    finally:
        _batch.reset(token)
    if receipts:
        payments_received.send(sender=None, receipts=receipts)
