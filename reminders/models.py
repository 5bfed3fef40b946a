from email import message_from_bytes, policy
from email.message import EmailMessage

from django.db import models


class CapturedEmail(models.Model):
    """An email the development outbox backend caught instead of sending (EMAIL_ESP=outbox).

    The whole MIME message is kept, so the outbox shows exactly what an ESP would have received.
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    from_email = models.CharField(max_length=320)
    to = models.TextField(help_text="All recipients, comma-separated (to, cc and bcc).")
    subject = models.CharField(max_length=998)
    raw = models.BinaryField()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "captured email (dev outbox)"
        verbose_name_plural = "captured emails (dev outbox)"

    def __str__(self) -> str:
        return f"{self.subject} → {self.to}"

    def parsed(self) -> EmailMessage:
        return message_from_bytes(bytes(self.raw), policy=policy.default)

    def body(self, subtype: str) -> str:
        part = self.parsed().get_body(preferencelist=(subtype,))
        return part.get_content() if part is not None else ""

    def attachments(self) -> list[tuple[str, str, int]]:
        return [
            (
                part.get_filename() or "attachment",
                part.get_content_type(),
                len(part.get_payload(decode=True) or b""),
            )
            for part in self.parsed().iter_attachments()
        ]
