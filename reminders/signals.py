"""What reminders announces, for the apps above it (the API's webhooks); reminders imports none of them.

Sent inside the transaction of the change, so what a receiver writes commits or rolls back with it.
"""

from django.dispatch import Signal

# The email provider accepted an invoice's "Send" email (not a reminder or a receipt). kwargs: invoice,
# email (the OutboundEmail).
invoice_sent = Signal()
