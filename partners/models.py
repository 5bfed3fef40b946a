"""Tenancy: the partner (a business that invoices its customers), its people and their roles.

Every tenant-owned model elsewhere carries a `partner` foreign key and uses `ScopedManager(partner=...)`,
so a query outside `django_scopes.scope(partner=...)` raises instead of leaking another partner's rows.
"""

import datetime
import secrets
import zoneinfo

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Value
from django.db.models.functions import Lower
from django.utils import timezone
from django_scopes import ScopedManager

CURRENCY_CHOICES = [
    ("USD", "USD: US dollar"),
    ("EUR", "EUR: Euro"),
    ("GBP", "GBP: Pound sterling"),
    ("CAD", "CAD: Canadian dollar"),
    ("AUD", "AUD: Australian dollar"),
    ("NZD", "NZD: New Zealand dollar"),
    ("CHF", "CHF: Swiss franc"),
    ("JPY", "JPY: Japanese yen"),
    ("KWD", "KWD: Kuwaiti dinar"),
]

LOCALE_CHOICES = [
    ("en-US", "English (United States)"),
    ("en-GB", "English (United Kingdom)"),
    ("en-AU", "English (Australia)"),
    ("en-NZ", "English (New Zealand)"),
    ("de-DE", "Deutsch (Deutschland)"),
    ("fr-FR", "Français (France)"),
    ("es-ES", "Español (España)"),
    ("nl-NL", "Nederlands (Nederland)"),
]

DEFAULT_RETRY_DAYS = [3, 7, 14]


def default_retry_days() -> list[int]:
    return list(DEFAULT_RETRY_DAYS)


TIMEZONE_CHOICES = [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]

hex_colour = RegexValidator(
    r"^#[0-9a-fA-F]{6}$", "Enter a colour as # followed by six hex digits, e.g. #1f4e8c."
)


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        email = self.normalize_email(email).lower()
        user = self.model(email=email, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username: str):
        return self.get(email__iexact=username)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A person who signs in: a partner's team member, or a platform admin (is_staff)."""

    username = None
    first_name = None
    last_name = None
    email = models.EmailField("email address", unique=True)
    full_name = models.CharField(max_length=150, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


def new_partner_slug() -> str:
    return secrets.token_urlsafe(12)  # 96 random bits, 16 URL-safe characters


class Partner(models.Model):
    """The tenant: a business that invoices its own customers."""

    name = models.CharField("business name", max_length=200)
    # How public URLs (the customer portal, /pay/<slug>/account/) name the partner: never its id, which
    # is sequential, so walking ids would list every business on the platform by name.
    slug = models.SlugField(max_length=32, unique=True, default=new_partner_slug, editable=False)
    legal_name = models.CharField(max_length=200, blank=True)
    email = models.EmailField("contact email", blank=True)
    phone = models.CharField(max_length=40, blank=True)
    website = models.URLField(blank=True)
    tax_id = models.CharField("tax ID", max_length=64, blank=True)
    address_line1 = models.CharField("address line 1", max_length=200, blank=True)
    address_line2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField("state / region", max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="Two-letter country code, e.g. US.")

    # Branding. The logo lives in the database: small (<= 1 MB, validated), needs no shared volume
    # between web and worker containers, and is addressed by its hash so it can be cached forever.
    logo = models.BinaryField(blank=True, null=True, editable=False)
    logo_content_type = models.CharField(max_length=40, blank=True, editable=False)
    logo_sha256 = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    brand_colour = models.CharField(max_length=7, default="#1f4e8c", validators=[hex_colour])

    default_currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, default="USD")
    timezone = models.CharField("time zone", max_length=64, choices=TIMEZONE_CHOICES, default="UTC")
    locale = models.CharField(max_length=10, choices=LOCALE_CHOICES, default="en-US")

    # Invoicing defaults. The next number itself lives in invoicing.NumberCounter, which finalizing locks.
    payment_terms_days = models.PositiveSmallIntegerField(
        "payment terms (days)", default=30, validators=[MaxValueValidator(365)]
    )
    default_memo = models.TextField(blank=True, help_text="Prefilled on new invoices; customers see it.")
    default_footer = models.TextField(blank=True, help_text="Printed at the bottom of every invoice.")
    invoice_number_prefix = models.CharField(max_length=20, default="INV-", blank=True)
    invoice_number_padding = models.PositiveSmallIntegerField(
        default=4, validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    invoice_number_yearly_reset = models.BooleanField(
        "restart numbering each year", default=False, help_text="Numbers then look like INV-2026-0001."
    )
    credit_note_prefix = models.CharField(max_length=20, default="CN-", blank=True)

    # Failed automatic charges: retried this many days after the first failed try (4 tries over 14
    # days by default), never after a hard decline; then the invoice stays open or is written off.
    charge_retry_days = ArrayField(
        models.PositiveSmallIntegerField(),
        size=10,
        default=default_retry_days,
        db_default=Value(DEFAULT_RETRY_DAYS, output_field=ArrayField(models.PositiveSmallIntegerField())),
        blank=True,
        verbose_name="retry failed charges after (days)",
    )
    mark_uncollectible_after_retries = models.BooleanField(
        "mark uncollectible when retries run out",
        default=False,
        db_default=False,
        help_text="Otherwise the invoice stays open for you to follow up.",
    )

    # Pay links (payments.portal): how long after the due date an emailed link keeps working.
    pay_link_valid_days = models.PositiveSmallIntegerField(
        "pay links work for (days after the due date)",
        default=30,
        db_default=30,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text="An expired link offers the customer a fresh one by email.",
    )

    # Recurring payments (invoicing.recurring): after an outage, periods older than this are skipped
    # (and recorded as skipped) instead of invoiced late.
    recurring_catch_up_days = models.PositiveSmallIntegerField(
        "catch up recurring invoices missed for up to (days)",
        default=30,
        db_default=30,
        validators=[MaxValueValidator(365)],
        help_text="If invoicing stopped for a while (an outage), missed invoices this recent are still "
        "issued; older ones are skipped and shown as skipped on the recurring payment.",
    )

    created_at = models.DateTimeField(auto_now_add=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def today(self) -> datetime.date:
        """Today's date where the partner is: what "due today" and "overdue" are measured against."""
        return timezone.now().astimezone(self.zone).date()

    @property
    def address_lines(self) -> list[str]:
        city_line = " ".join(part for part in (self.postal_code, self.city) if part)
        return [
            line
            for line in (self.address_line1, self.address_line2, city_line, self.region, self.country)
            if line
        ]


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    READ_ONLY = "read_only", "Read-only"


ROLE_RANK = {Role.READ_ONLY: 10, Role.MEMBER: 20, Role.ADMIN: 30, Role.OWNER: 40}


class Membership(models.Model):
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager(partner="partner")

    class Meta:
        ordering = ["created_at"]
        constraints = [models.UniqueConstraint(fields=["partner", "user"], name="membership_unique_user")]

    def __str__(self) -> str:
        return f"{self.user} at {self.partner} ({self.get_role_display()})"

    def has_role(self, role: Role) -> bool:
        return ROLE_RANK[Role(self.role)] >= ROLE_RANK[role]

    @property
    def can_write(self) -> bool:
        return self.has_role(Role.MEMBER)

    @property
    def can_manage(self) -> bool:
        """Owners and admins manage the team and the partner's settings."""
        return self.has_role(Role.ADMIN)


class Invitation(models.Model):
    """An emailed invitation to join a partner. Only a hash of the token is stored."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(partner="partner")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One pending invitation per address and partner; accepted or revoked ones stay as history.
            models.UniqueConstraint(
                "partner",
                Lower("email"),
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_unique_pending_email",
            )
        ]

    def __str__(self) -> str:
        return f"Invitation of {self.email} to {self.partner}"

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None


class AuditKind(models.TextChoices):
    """Changes to how a business is set up, and to what its customers are charged with; what happens to
    invoices is in invoicing.InvoiceEvent."""

    SETTINGS_CHANGED = "settings_changed", "Business details changed"
    INVOICING_SETTINGS_CHANGED = "invoicing_settings_changed", "Invoice settings changed"
    MEMBER_INVITED = "member_invited", "Person invited"
    MEMBER_ROLE_CHANGED = "member_role_changed", "Role changed"
    MEMBER_REMOVED = "member_removed", "Person removed"
    PAYMENT_METHOD_ADDED = "payment_method_added", "Payment method added"
    PAYMENT_METHOD_REMOVED = "payment_method_removed", "Payment method removed"
    DEFAULT_METHOD_CHANGED = "default_method_changed", "Default payment method changed"
    AUTOPAY_CHANGED = "autopay_changed", "Auto-Pay changed"
    PAYMENT_PROCESSOR_CHANGED = "payment_processor_changed", "Payment processor changed"


class AuditEvent(models.Model):
    """One line of the activity log that is not about a single invoice: who changed which setting, from
    what to what. Written only by partners.services.audit_record; never edited or deleted from any page."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=40, choices=AuditKind.choices)
    message = models.CharField(max_length=500, blank=True)
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField(max_length=200, blank=True, help_text="Who, when not a user.")
    changes = models.JSONField(default=dict, blank=True, help_text="field: [before, after]")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager(partner="partner")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["partner", "-created_at", "-id"], name="audit_event_partner_created")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.created_at:%Y-%m-%d %H:%M})"
