"""Every write to an invoice. Each state change locks the row, checks the current state, writes with
`update_fields` and appends a timeline event, so the rules of the lifecycle live here and nowhere else.

    base        the row lock, timeline lines, versions and the amount due, shared by the others
    drafts      validate, price, create, update and duplicate drafts
    lifecycle   finalize, memo, void, uncollectible, charge scheduling, stopping collection
    settlement  payments, customer credit and refunds applied; credit notes

Callers import from `invoicing.services`; the modules are how the code is read, not an API.
"""

from invoicing.services.base import (
    amount_refusal,
    invoice_event,
    invoice_events_batched,
    invoice_lock,
    invoices_lock,
)
from invoicing.services.drafts import (
    MAX_DUE_AHEAD,
    InvoiceInput,
    LineInput,
    invoice_create,
    invoice_duplicate,
    invoice_update_draft,
    invoice_validate,
    lines_totals,
)
from invoicing.services.lifecycle import (
    buyer_details,
    invoice_finalize,
    invoice_mark_uncollectible,
    invoice_note_charge_outcome,
    invoice_schedule_charge,
    invoice_stop_collection,
    invoice_update_memo,
    invoice_void,
    invoices_unschedule_charge,
    seller_details,
)
from invoicing.services.settlement import (
    credit_note_create,
    invoice_apply_credit,
    invoice_apply_dispute_loss,
    invoice_apply_payment,
    invoice_apply_refund,
)

__all__ = [
    "MAX_DUE_AHEAD",
    "InvoiceInput",
    "LineInput",
    "amount_refusal",
    "buyer_details",
    "credit_note_create",
    "invoice_apply_credit",
    "invoice_apply_dispute_loss",
    "invoice_apply_payment",
    "invoice_apply_refund",
    "invoice_create",
    "invoice_duplicate",
    "invoice_event",
    "invoice_events_batched",
    "invoice_finalize",
    "invoice_lock",
    "invoice_mark_uncollectible",
    "invoice_note_charge_outcome",
    "invoice_schedule_charge",
    "invoice_stop_collection",
    "invoice_update_draft",
    "invoice_update_memo",
    "invoice_validate",
    "invoice_void",
    "invoices_lock",
    "invoices_unschedule_charge",
    "lines_totals",
    "seller_details",
]
