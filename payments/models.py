"""The money ledger: attempts, payments, refunds and customer credit, written only by payments.services.

A customer's saved payment methods are customers.models.PaymentMethod; payments writes them through
the gateways.
"""

from django.conf import settings
from django.db import models
from django_scopes import ScopedManager

from core.idempotency import new_key
from customers.models import Customer, PaymentMethod
from partners.models import Partner


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
    attempt = models.OneToOneField(
        "PaymentAttempt", null=True, blank=True, on_delete=models.PROTECT, related_name="payment"
    )
    gateway_charge_id = models.CharField(max_length=100, blank=True)
    credited_amount = models.BigIntegerField(
        default=0, db_default=0, help_text="The part beyond what was due, kept as customer credit."
    )
    amount_refunded = models.BigIntegerField(default=0, db_default=0)
    processor_fee = models.BigIntegerField(
        null=True, blank=True, help_text="What the processor kept, where it reports it (Stripe)."
    )
    idempotency_key = models.CharField(
        max_length=100, null=True, blank=True, help_text="The key of the Record payment form that made it."
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager(partner="partner")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=models.Q(amount_refunded__gte=0, credited_amount__gte=0)
                & models.Q(amount__gte=models.F("amount_refunded") + models.F("credited_amount")),
                name="payment_refunds_within_amount",
            ),
            models.UniqueConstraint(
                fields=["partner", "idempotency_key"], name="payment_unique_idempotency_key"
            ),
        ]
        indexes = [
            # Covering, so "cash received per week" (dashboard.reports) reads only the index.
            models.Index(
                fields=["partner", "received_on"],
                include=["currency", "amount"],
                name="payment_partner_received",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_method_display()} payment of {self.amount} {self.currency}"

    @property
    def net(self) -> int | None:
        """What reached the partner's account, where the processor reports its fee."""
        return None if self.processor_fee is None else self.amount - self.processor_fee

    @property
    def refundable(self) -> int:
        """What may still be refunded: the part applied to the invoice, less earlier refunds."""
        return self.amount - self.credited_amount - self.amount_refunded


def new_idempotency_key() -> str:
    """A fresh key for a row that no form made (a job's attempt, a refund without a form)."""
    return new_key()


class AttemptStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # committed; the gateway has not answered yet
    PROCESSING = "processing", "Processing"  # a bank debit accepted, settling
    UNKNOWN = "unknown", "Unknown"  # no answer (timeout, crash): the janitor asks the gateway
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


LIVE_ATTEMPT_STATUSES = [AttemptStatus.PENDING, AttemptStatus.PROCESSING, AttemptStatus.UNKNOWN]


class AttemptTrigger(models.TextChoices):
    CHARGE_NOW = "charge_now", "Charge now"
    CHARGE_METHOD_ON_FILE = "charge_method_on_file", "Charge method on file"
    CHARGE_ON_DUE_DATE = "charge_on_due_date", "Charge on due date"
    RETRY = "retry", "Automatic retry"
    MANUAL = "manual", "Charged by your team"
    CUSTOMER = "customer", "Paid by the customer"


# Attempts the partner did not start by hand; a soft decline of these is retried on schedule.
AUTOMATIC_TRIGGERS = {
    AttemptTrigger.CHARGE_NOW,
    AttemptTrigger.CHARGE_METHOD_ON_FILE,
    AttemptTrigger.CHARGE_ON_DUE_DATE,
    AttemptTrigger.RETRY,
}
# Of those, the charges the due-date job makes at local midnight: the emails that follow them wait for
# sending hours. Charge now and Charge method on file happen as a person creates the invoice, so their
# receipt or failure notice goes at once.
SCHEDULED_TRIGGERS = {AttemptTrigger.CHARGE_ON_DUE_DATE, AttemptTrigger.RETRY}


class PaymentAttempt(models.Model):
    """One try to charge a saved method. Committed before the gateway is called, so a crash at any
    point leaves a row that the janitor resolves by asking the gateway with the same idempotency key."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    invoice = models.ForeignKey("invoicing.Invoice", on_delete=models.PROTECT, related_name="attempts")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    payment_method = models.ForeignKey(
        PaymentMethod, null=True, blank=True, on_delete=models.SET_NULL, related_name="attempts"
    )
    method_label = models.CharField(max_length=100, help_text="The method as it was shown when charged.")
    gateway = models.CharField(max_length=30)
    gateway_token = models.CharField(max_length=200)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    idempotency_key = models.CharField(max_length=100, unique=True, default=new_idempotency_key)
    status = models.CharField(max_length=20, choices=AttemptStatus.choices, default=AttemptStatus.PENDING)
    trigger = models.CharField(max_length=30, choices=AttemptTrigger.choices)
    try_number = models.PositiveSmallIntegerField(
        default=1, help_text="1 for the first automatic try, 2 for the first retry, and so on."
    )
    gateway_charge_id = models.CharField(max_length=100, blank=True)
    decline_code = models.CharField(max_length=40, blank=True)
    failure_message = models.CharField(max_length=300, blank=True)
    hard_decline = models.BooleanField(default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(partner="partner")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice"],
                condition=models.Q(status__in=LIVE_ATTEMPT_STATUSES),
                name="payment_attempt_one_live_per_invoice",
            ),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payment_attempt_amount_positive"),
        ]
        indexes = [
            models.Index(
                fields=["status", "created_at"],
                condition=models.Q(status__in=LIVE_ATTEMPT_STATUSES),
                name="payment_attempt_live",
            )
        ]

    def __str__(self) -> str:
        return f"Attempt {self.pk} ({self.status}) {self.amount} {self.currency}"

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_ATTEMPT_STATUSES


class RefundStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Refund(models.Model):
    """Money given back from a payment. Committed before the gateway is called, like an attempt."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    invoice = models.ForeignKey("invoicing.Invoice", on_delete=models.PROTECT, related_name="refunds")
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=500)
    reduce_amount_owed = models.BooleanField(
        default=True, help_text="Issue a credit note, so the customer does not owe the refunded amount again."
    )
    idempotency_key = models.CharField(max_length=100, unique=True, default=new_idempotency_key)
    status = models.CharField(max_length=20, choices=RefundStatus.choices, default=RefundStatus.PENDING)
    gateway_refund_id = models.CharField(max_length=100, blank=True)
    failure_message = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(partner="partner")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="refund_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"Refund {self.pk} ({self.status}) {self.amount} {self.currency}"


class DisputeStatus(models.TextChoices):
    OPEN = "open", "Needs a response"
    UNDER_REVIEW = "under_review", "Under review"
    WON = "won", "Won"
    LOST = "lost", "Lost"


class Dispute(models.Model):
    """A customer's dispute (chargeback) of a card payment, as the processor last told us. Written only
    by payments.services.disputes, under the invoice's lock."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="disputes")
    invoice = models.ForeignKey("invoicing.Invoice", on_delete=models.PROTECT, related_name="disputes")
    gateway = models.CharField(max_length=20)
    gateway_dispute_id = models.CharField(max_length=100)
    status = models.CharField(max_length=20, choices=DisputeStatus.choices, default=DisputeStatus.OPEN)
    amount = models.BigIntegerField(help_text="What the customer disputes, in the minor unit.")
    currency = models.CharField(max_length=3)
    amount_withdrawn = models.BigIntegerField(default=0, help_text="Taken from the partner's balance.")
    amount_reinstated = models.BigIntegerField(default=0, help_text="Given back when the dispute was won.")
    amount_lost = models.BigIntegerField(
        default=0, help_text="Written off the invoice: the dispute was lost."
    )
    reason = models.CharField(max_length=100, blank=True)
    evidence_due_by = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(partner="partner")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["gateway", "gateway_dispute_id"], name="dispute_unique_gateway_id"
            ),
            models.CheckConstraint(
                condition=models.Q(
                    amount__gt=0, amount_withdrawn__gte=0, amount_reinstated__gte=0, amount_lost__gte=0
                ),
                name="dispute_amounts_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"Dispute {self.gateway_dispute_id} ({self.status}) {self.amount} {self.currency}"

    @property
    def is_closed(self) -> bool:
        return self.status in (DisputeStatus.WON, DisputeStatus.LOST)


class CreditKind(models.TextChoices):
    OVERPAYMENT = "overpayment", "Overpayment"
    APPLIED = "applied", "Applied to an invoice"
    RESTORED = "restored", "Returned from a voided invoice"


class CustomerCredit(models.Model):
    """One entry of a customer's credit balance, per currency: positive adds, negative uses."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="credit_entries")
    currency = models.CharField(max_length=3)
    amount = models.BigIntegerField()
    kind = models.CharField(max_length=20, choices=CreditKind.choices)
    invoice = models.ForeignKey(
        "invoicing.Invoice", null=True, blank=True, on_delete=models.PROTECT, related_name="credit_entries"
    )
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager(partner="partner")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "customer credit"
        constraints = [
            models.CheckConstraint(condition=~models.Q(amount=0), name="customer_credit_not_zero"),
        ]
        indexes = [models.Index(fields=["customer", "currency"], name="customer_credit_balance")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} {self.currency}"


class PayLink(models.Model):
    """The credential in a customer's pay link (/pay/<token>/). Only the SHA-256 of the token is kept, so
    the link can be shown only when it is issued (see payments.portal.services)."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    invoice = models.ForeignKey("invoicing.Invoice", on_delete=models.CASCADE, related_name="pay_links")
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_viewed_at = models.DateTimeField(
        null=True, blank=True, help_text="Throttles the 'Viewed by customer' timeline line."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager(partner="partner")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["invoice"],
                condition=models.Q(revoked_at__isnull=True),
                name="pay_link_live_by_invoice",
            )
        ]

    def __str__(self) -> str:
        return f"Pay link {self.pk} for invoice {self.invoice_id}"


class WebhookDelivery(models.Model):
    """A gateway webhook we acted on, by the gateway's event id, so a redelivery changes nothing."""

    gateway = models.CharField(max_length=30)
    event_id = models.CharField(max_length=100)
    event_type = models.CharField(max_length=60)
    charge_id = models.CharField(max_length=100, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["gateway", "event_id"], name="webhook_delivery_unique_event")
        ]

    def __str__(self) -> str:
        return f"{self.gateway} {self.event_id}"


class PortalSignInLink(models.Model):
    """A magic link that signs a customer in to their account at one partner (/pay/<partner>/account/).
    Like pay links, only the SHA-256 of its token is kept; it works once and for a few minutes."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="portal_sign_in_links")
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager(partner="partner")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Sign-in link {self.pk} for customer {self.customer_id}"


class Processor(models.TextChoices):
    SANDBOX = "sandbox", "Sandbox (test mode)"
    STRIPE = "stripe", "Stripe"


class ProcessorStatus(models.TextChoices):
    CONNECTED = "connected", "Connected"
    DISCONNECTED = "disconnected", "Disconnected"


class ProcessorAccount(models.Model):
    """The processor account a partner collects into (Settings -> Payments). No row: the sandbox.

    Secrets are Fernet tokens (core.encryption), never shown again once saved. With Stripe Connect (a
    hosted installation) `connect_account_id` is set instead of keys: every call is made with the
    platform's key (STRIPE_CONNECT_SECRET_KEY) and this account in the Stripe-Account header."""

    partner = models.OneToOneField(Partner, on_delete=models.CASCADE, related_name="+")
    processor = models.CharField(max_length=20, choices=Processor.choices, default=Processor.SANDBOX)
    status = models.CharField(
        max_length=20, choices=ProcessorStatus.choices, default=ProcessorStatus.CONNECTED
    )
    secret_key_encrypted = models.TextField(blank=True)
    publishable_key = models.CharField(max_length=200, blank=True)
    webhook_secret_encrypted = models.TextField(blank=True)
    webhook_token_hash = models.CharField(
        max_length=64, blank=True, help_text="SHA-256 of the secret part of this account's webhook URL."
    )
    webhook_endpoint_id = models.CharField(max_length=100, blank=True)
    webhook_token_encrypted = models.TextField(
        blank=True,
        help_text="Only when the key could not create the endpoint: the URL's secret part, for the partner "
        "to add it in Stripe's Dashboard.",
    )
    connect_account_id = models.CharField(max_length=100, blank=True, help_text="Stripe Connect: acct_…")
    account_id = models.CharField(max_length=100, blank=True)
    account_name = models.CharField(max_length=200, blank=True)
    country = models.CharField(max_length=2, blank=True)
    default_currency = models.CharField(max_length=3, blank=True)
    livemode = models.BooleanField(default=False)
    charging_paused_reason = models.CharField(
        max_length=300, blank=True, help_text="Set while the processor can't charge: automatic charges wait."
    )
    connected_at = models.DateTimeField(null=True, blank=True)
    disconnected_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager(partner="partner")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["webhook_token_hash"],
                condition=~models.Q(webhook_token_hash=""),
                name="processor_account_webhook_token_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_processor_display()} ({self.status}) for partner {self.partner_id}"

    @property
    def is_connected(self) -> bool:
        return self.status == ProcessorStatus.CONNECTED
