"""Saved payment methods and the payment ledger. Card and account numbers are never stored."""

from django.conf import settings
from django.db import models
from django_scopes import ScopedManager

from customers.models import Customer
from partners.models import Partner


class PaymentMethodKind(models.TextChoices):
    CARD = "card", "Card"
    BANK_ACCOUNT = "bank_account", "Bank account"


class PaymentMethod(models.Model):
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


class PaymentMethodType(models.TextChoices):
    """How money arrived (or left, for refunds)."""

    CARD = "card", "Card"
    BANK_DEBIT = "bank_debit", "Bank debit (ACH)"
    CHECK = "check", "Check"
    BANK_TRANSFER = "bank_transfer", "Bank transfer"
    CASH = "cash", "Cash"
    OTHER = "other", "Other"


OFFLINE_METHODS = [
    PaymentMethodType.CHECK,
    PaymentMethodType.BANK_TRANSFER,
    PaymentMethodType.CASH,
    PaymentMethodType.OTHER,
]


class Payment(models.Model):
    """Money received for an invoice. Offline payments are recorded by the partner's team."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    invoice = models.ForeignKey("invoicing.Invoice", on_delete=models.PROTECT, related_name="payments")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="payments")
    amount = models.BigIntegerField(help_text="In the currency's minor unit.")
    currency = models.CharField(max_length=3)
    method = models.CharField(max_length=20, choices=PaymentMethodType.choices)
    reference = models.CharField(max_length=200, blank=True, help_text="Check number, transfer reference, …")
    received_on = models.DateField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager(partner="partner")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payment_amount_positive")
        ]
        indexes = [models.Index(fields=["partner", "received_on"], name="payment_partner_received")]

    def __str__(self) -> str:
        return f"{self.get_method_display()} payment of {self.amount} {self.currency}"
