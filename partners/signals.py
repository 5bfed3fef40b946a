"""What partners announces, for the apps above it to act on; partners imports none of them."""

from django.dispatch import Signal

# A person was invited to join a partner's team. kwargs: invitation, token (the secret of the accept
# link, which is stored only as a hash). reminders emails the invitation.
invitation_created = Signal()
