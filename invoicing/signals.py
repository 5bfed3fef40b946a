"""What invoicing announces, for the apps above it (payments, reminders) to act on. invoicing imports
none of them: they connect their receivers in their AppConfig.ready().

Every signal is sent inside the transaction of the change it reports, with the invoice row locked, so
what a receiver writes commits or rolls back with the change itself.
"""

from django.dispatch import Signal

# A draft was issued (number, seller and buyer frozen; status open). kwargs: invoice, actor.
# payments starts collection (pay link, customer credit, the payment option), which announces
# payments.signals.collection_started, on which reminders plans the invoice's emails.
invoice_issued = Signal()

# An issued invoice is about to be voided or credited. kwargs: invoice, change ("void" or "credit_note").
# A receiver refuses the change by raising ValidationError (payments: a charge is in flight).
invoice_settling = Signal()

# An amount is about to be billed: an invoice made, edited or issued, or a recurring payment set up.
# kwargs: partner, amount, currency. A receiver answers why it could never be collected, or None
# (payments: below the partner's processor's minimum charge, a three-decimal currency not ending in 0).
amount_checking = Signal()

# An issued invoice was voided. kwargs: invoice, actor, credit_applied (the customer credit it had used,
# which payments gives back).
invoice_voided = Signal()

# A new invoice exists (a draft, or one about to be issued). kwargs: invoice, actor.
invoice_created = Signal()

# Nothing is left due on an issued invoice: it is paid (by payments, customer credit or a credit note).
# kwargs: invoice.
invoice_paid = Signal()

# An open invoice was written off (by a person, or automatically when charge retries ran out).
# kwargs: invoice, actor.
invoice_marked_uncollectible = Signal()

# A recurring payment issued its period's invoice. kwargs: invoice, schedule.
recurring_invoice_issued = Signal()
