from email import message_from_bytes, policy
from email.message import EmailMessage

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django_scopes import ScopedManager


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


def default_days_before_due() -> list[int]:
    return [7, 1]


def default_days_after_due() -> list[int]:
    return [3, 7, 14]


class NotificationSettings(models.Model):
    """A partner's choices for automatic emails (Settings → Notifications). A partner without a row
    uses the defaults below (`reminders.selectors.notification_settings`), so none is created up front."""

    partner = models.OneToOneField(
        "partners.Partner", on_delete=models.CASCADE, related_name="notification_settings"
    )
    email_on_creation = models.BooleanField(
        "email new invoices",
        default=False,
        help_text="Email each invoice to the customer when it is issued (Email payment link always does).",
    )
    days_before_due = ArrayField(
        models.PositiveSmallIntegerField(),
        default=default_days_before_due,
        blank=True,
        help_text="Remind this many days before the due date, e.g. 7, 1. Leave empty for none.",
    )
    remind_on_due_date = models.BooleanField("remind on the due date", default=True)
    days_after_due = ArrayField(
        models.PositiveSmallIntegerField(),
        default=default_days_after_due,
        blank=True,
        help_text="Remind this many days after the due date, each more firmly, e.g. 3, 7, 14.",
    )
    send_hour = models.PositiveSmallIntegerField(
        "sending hour",
        default=9,
        validators=[MinValueValidator(0), MaxValueValidator(23)],
        help_text="Reminders go out at this hour in your time zone.",
    )
    catch_up_days = models.PositiveSmallIntegerField(
        "catch-up window (days)",
        default=2,
        validators=[MaxValueValidator(30)],
        help_text="A reminder that could not go out on time (an outage) is still sent this many days "
        "late; older ones are skipped.",
    )
    attach_pdf = models.BooleanField("attach the PDF", default=True)
    send_receipts = models.BooleanField("email receipts", default=True)
    notify_customer_failed_charge = models.BooleanField(
        "tell customers when a charge fails",
        default=True,
        help_text="With a link to pay or to update their payment method.",
    )
    alert_email = models.EmailField(
        "alerts go to",
        blank=True,
        help_text="Failed charges and bounced emails. Empty: your business email, or else the owners.",
    )

    objects = ScopedManager(partner="partner")

    class Meta:
        verbose_name_plural = "notification settings"

    def __str__(self) -> str:
        return f"Notification settings of {self.partner_id}"


class NotificationKind(models.TextChoices):
    INVOICE = "invoice", "Invoice"
    BEFORE_DUE = "before_due", "Reminder before the due date"
    ON_DUE = "on_due", "Due today"
    OVERDUE = "overdue", "Overdue reminder"
    RECEIPT = "receipt", "Receipt"
    CHARGE_FAILED = "charge_failed", "Payment failed"
    PARTNER_CHARGE_FAILED = "partner_charge_failed", "Alert: charge failed"
    PARTNER_BOUNCE = "partner_bounce", "Alert: email bounced"
    PARTNER_DISPUTE = "partner_dispute", "Alert: payment disputed"
    OTHER = "other", "Other"


REMINDER_KINDS = (NotificationKind.BEFORE_DUE, NotificationKind.ON_DUE, NotificationKind.OVERDUE)


class NotificationStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    SKIPPED = "skipped", "Skipped"
    FAILED = "failed", "Failed"


class Notification(models.Model):
    """One automatic email an invoice is owed: planned, then sent or skipped, never twice.

    The unique constraint is the exactly-once rule: a reminder is (invoice, kind, offset in days);
    a receipt or failure notice also names what it is about in `key` ("payment:12")."""

    partner = models.ForeignKey("partners.Partner", on_delete=models.CASCADE, related_name="+")
    invoice = models.ForeignKey("invoicing.Invoice", on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=30, choices=NotificationKind.choices)
    offset_days = models.SmallIntegerField(
        default=0, help_text="Days from the due date: negative before it, positive after."
    )
    key = models.CharField(max_length=60, blank=True, default="")
    status = models.CharField(
        max_length=20, choices=NotificationStatus.choices, default=NotificationStatus.SCHEDULED
    )
    send_at = models.DateTimeField()
    skip_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager(partner="partner")

    class Meta:
        ordering = ["send_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "kind", "offset_days", "key"], name="notification_once"
            ),
        ]
        indexes = [
            models.Index(fields=["send_at"], condition=models.Q(status="scheduled"), name="notification_due"),
            models.Index(fields=["partner", "send_at"], name="notification_partner_send_at"),
        ]

    def __str__(self) -> str:
        return f"{self.label} for invoice {self.invoice_id}"

    @property
    def label(self) -> str:
        """'Reminder, 7 days before the due date', as the partner reads it in lists and the timeline."""
        days = abs(self.offset_days)
        plural = "s" if days != 1 else ""
        if self.kind == NotificationKind.BEFORE_DUE:
            return f"Reminder, {days} day{plural} before the due date"
        if self.kind == NotificationKind.OVERDUE:
            return f"Overdue reminder, {days} day{plural} after the due date"
        return self.get_kind_display()


class EmailStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    RETRYING = "retrying", "Send failed, retrying"
    SENT = "sent", "Accepted by the email provider"
    DELIVERED = "delivered", "Delivered"
    BOUNCED = "bounced", "Bounced"
    COMPLAINED = "complained", "Marked as spam"
    FAILED = "failed", "Failed"


class OutboundEmail(models.Model):
    """Every email the app sends, with what the email provider (ESP) said about it.

    The body is not kept: invoice emails carry a pay link whose token exists only while the email is
    drawn, so a message is drawn again (with a new link) if it has to be retried."""

    partner = models.ForeignKey(
        "partners.Partner", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    invoice = models.ForeignKey(
        "invoicing.Invoice", null=True, blank=True, on_delete=models.CASCADE, related_name="emails"
    )
    notification = models.OneToOneField(
        Notification, null=True, blank=True, on_delete=models.CASCADE, related_name="email"
    )
    kind = models.CharField(max_length=30, choices=NotificationKind.choices)
    to = ArrayField(models.EmailField())
    cc = ArrayField(models.EmailField(), default=list, blank=True)
    subject = models.CharField(max_length=998, blank=True)
    params = models.JSONField(
        default=dict, blank=True, help_text="What the email is about (a payment, an attempt), to draw it."
    )
    status = models.CharField(max_length=20, choices=EmailStatus.choices, default=EmailStatus.QUEUED)
    esp_message_id = models.CharField(max_length=200, blank=True, db_index=True)
    tries = models.PositiveSmallIntegerField(default=0)
    next_try_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    bounced_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(partner="partner")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["partner", "status"], name="email_partner_status"),
            models.Index(
                fields=["next_try_at"],
                condition=models.Q(status__in=["queued", "retrying", "sending"]),
                name="email_unfinished",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject} → {', '.join(self.to)}"

    @property
    def recipients(self) -> list[str]:
        return [*self.to, *self.cc]


class EmailEvent(models.Model):
    """What the ESP's tracking webhook said about a message (sent, delivered, bounced, opened, …)."""

    partner = models.ForeignKey(
        "partners.Partner", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    email = models.ForeignKey(OutboundEmail, on_delete=models.CASCADE, related_name="events")
    event_type = models.CharField(max_length=30)
    recipient = models.CharField(max_length=320, blank=True)
    occurred_at = models.DateTimeField()
    description = models.CharField(max_length=500, blank=True)
    esp_event = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager(partner="partner")

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [
            # ESPs retry webhooks: the same event posted twice is recorded once.
            models.UniqueConstraint(
                fields=["email", "event_type", "recipient", "occurred_at"], name="email_event_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.recipient}"


class SuppressedAddress(models.Model):
    """An address that hard-bounced or complained: automatic emails to it pause until the partner
    resumes them (or the customer's address changes)."""

    partner = models.ForeignKey("partners.Partner", on_delete=models.CASCADE, related_name="+")
    address = models.EmailField()
    reason = models.CharField(max_length=300)
    email = models.ForeignKey(
        OutboundEmail, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager(partner="partner")

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "suppressed addresses"
        constraints = [
            models.UniqueConstraint("partner", Lower("address"), name="suppressed_address_once"),
        ]

    def __str__(self) -> str:
        return self.address
