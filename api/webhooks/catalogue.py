"""The event types an endpoint can subscribe to, in the order the Developers page lists them.
docs/api.md has an example payload of each."""

EVENT_TYPES = {
    "invoice.created": "An invoice was created (a draft, or one issued at once).",
    "invoice.issued": "A draft was finalized: it has a number and is open.",
    "invoice.sent": "The invoice email was accepted by the email provider.",
    "invoice.paid": "Nothing is left due.",
    "invoice.partially_paid": "A payment arrived and something is still due.",
    "invoice.payment_failed": "A charge of a saved payment method failed.",
    "invoice.overdue": "An open invoice passed its due date.",
    "invoice.voided": "The invoice was voided (it keeps its number).",
    "invoice.marked_uncollectible": "The invoice was written off.",
    "payment.succeeded": "Money was received for an invoice.",
    "payment.failed": "A charge failed.",
    "payment.refunded": "A refund went through.",
    "payment.disputed": "The customer disputed a card payment with their bank (Stripe).",
    "customer.created": "A customer was added.",
    "customer.updated": "A customer's details changed, or it was archived or restored.",
    "recurring_invoice.issued": "A recurring payment issued its period's invoice.",
}
