"""Development email backend: keeps every message in the database for the /dev/outbox/ pages."""

from django.core.mail.backends.base import BaseEmailBackend

from reminders.models import CapturedEmail


class OutboxEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:
        for message in email_messages:
            CapturedEmail.objects.create(
                from_email=message.from_email,
                to=", ".join(message.recipients()),
                subject=message.subject,
                raw=message.message().as_bytes(),
            )
        return len(email_messages)
