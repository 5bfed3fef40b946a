"""Objects as the API and the webhooks show them: one definition for both (a webhook's `data` is what
GET would answer)."""

from invoicing.models import Invoice


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
