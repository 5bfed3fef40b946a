from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models.functions import Lower
from django_scopes import ScopedManager

from core.addresses import HasPostalAddress
from partners.models import Partner


class Customer(HasPostalAddress, models.Model):
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


class PaymentMethodKind(models.TextChoices):
    CARD = "card", "Card"
    BANK_ACCOUNT = "bank_account", "Bank account"


class PaymentMethod(models.Model):
    """A customer's saved card or bank account. Card and account numbers are never stored: a method is
    the gateway's token plus what may be shown (brand, last 4, expiry, bank name). Written only by
    payments.services, through the gateway."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="payment_methods")
    kind = models.CharField(max_length=20, choices=PaymentMethodKind.choices)
    brand = models.CharField(max_length=30, blank=True, help_text="Card brand, e.g. Visa.")
    bank_name = models.CharField(max_length=100, blank=True)
    last4 = models.CharField(max_length=4)
    exp_month = models.PositiveSmallIntegerField(null=True, blank=True)
    exp_year = models.PositiveSmallIntegerField(null=True, blank=True)
    gateway = models.CharField(max_length=30, default="sandbox")
    gateway_token = models.CharField(max_length=200)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(partner="partner")

    class Meta:
        db_table = "payments_paymentmethod"  # the table predates the model's move from payments
        ordering = ["-is_default", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=models.Q(is_default=True, removed_at__isnull=True),
                name="payment_method_one_default_per_customer",
            )
        ]

    def __str__(self) -> str:
        if self.kind == PaymentMethodKind.CARD:
            return f"{self.brand or 'Card'} •••• {self.last4}"
        return f"{self.bank_name or 'Bank account'} •••• {self.last4}"

    @property
    def is_card(self) -> bool:
        return self.kind == PaymentMethodKind.CARD

    def is_expired_on(self, day) -> bool:
        """Cards work to the end of their expiry month."""
        if not self.is_card or not self.exp_year or not self.exp_month:
            return False
        return (day.year, day.month) > (self.exp_year, self.exp_month)
