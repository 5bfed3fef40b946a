"""What customers announces, for the apps above it to act on (the API's webhooks); customers imports
none of them.

Sent inside the transaction of the change, so what a receiver writes commits or rolls back with it.
"""

from django.dispatch import Signal

# A customer was added. kwargs: customer.
customer_created = Signal()

# A customer's details changed, or it was archived or restored. kwargs: customer, fields (the names
# of the fields written).
customer_updated = Signal()
