"""Objects as the API and the webhooks show them: one definition for both (a webhook's `data` is what
GET would answer)."""

from invoicing.models import Invoice, RecurringSchedule
from invoicing.recurring import upcoming_dates
from invoicing.recurring_selectors import recurring_totals


def invoice_data(invoice: Invoice) -> dict:
    fields = {name: getattr(invoice, name) for name in INVOICE_FIELDS}
    return {
        **fields,
        "id": invoice.pk,
        "overdue": invoice.is_overdue,
        "lines": list(invoice.lines.all()),
    }


INVOICE_FIELDS = (
    "number", "status", "customer_id", "currency", "issue_date", "due_date", "payment_option",
    "payment_method_id", "memo", "footer", "subtotal", "tax_total", "total", "amount_paid",
    "amount_credited", "amount_refunded", "credit_applied", "amount_due", "version", "created_at",
    "updated_at", "finalized_at", "paid_at", "voided_at", "uncollectible_at",
)  # fmt: skip


def recurring_data(schedule: RecurringSchedule) -> dict:
    fields = {name: getattr(schedule, name) for name in RECURRING_FIELDS}
    totals = recurring_totals(schedule)
    return {
        **fields,
        "id": schedule.pk,
        "lines": list(schedule.lines.all()),
        "subtotal": totals.subtotal,
        "tax_total": totals.tax,
        "total": totals.total,
        "next_issue_date": schedule.next_period_date,
        "upcoming_dates": upcoming_dates(schedule),
    }


RECURRING_FIELDS = (
    "status", "customer_id", "currency", "frequency", "interval", "anchor_day", "start_date", "end_mode",
    "end_count", "end_date", "payment_option", "payment_method_id", "days_until_due", "memo",
    "invoices_issued", "problem", "created_at", "updated_at",
)  # fmt: skip
