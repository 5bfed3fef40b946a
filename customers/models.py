from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models.functions import Lower
from django_scopes import ScopedManager

from partners.models import Partner


class Customer(models.Model):
    """A partner's customer: who invoices are billed to and who pays them."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="customers")
    name = models.CharField("contact name", max_length=200)
    company = models.CharField(max_length=200, blank=True)
    email = models.EmailField()
    cc_emails = ArrayField(models.EmailField(), default=list, blank=True, verbose_name="CC emails")
    phone = models.CharField(max_length=40, blank=True)
    tax_id = models.CharField("tax ID", max_length=64, blank=True)
    address_line1 = models.CharField("address line 1", max_length=200, blank=True)
    address_line2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField("state / region", max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True)
    notes = models.TextField(blank=True, help_text="Only your team sees notes.")
    autopay = models.BooleanField(
        "Auto-Pay",
        default=False,
        db_default=False,
        help_text="New invoices default to Charge on due date, charged to the default payment method.",
    )
    email_reminders = models.BooleanField(
        "automatic emails",
        default=True,
        db_default=True,
        help_text="New invoices and payment reminders by email. Receipts and payment problems are "
        "always sent.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(partner="partner")

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint("partner", Lower("email"), name="customer_unique_email_per_partner"),
        ]
        indexes = [
            models.Index(fields=["partner", "name"], name="customer_partner_name"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.company or self.name

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def address_lines(self) -> list[str]:
        city_line = " ".join(part for part in (self.postal_code, self.city) if part)
        return [
            line
            for line in (self.address_line1, self.address_line2, city_line, self.region, self.country)
            if line
        ]
