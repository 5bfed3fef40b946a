"""The sandbox processor's own books. They live on the `sandbox` database connection, which commits
independently of the app's transactions (see config.routers), so they record what a real processor
would have done even when the app crashes or rolls back: tests compare them with the app's records.
"""

from django.db import models


class SandboxMethod(models.Model):
    token = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=20)
    behaviour = models.CharField(
        max_length=40, help_text="What charging it does: decline:insufficient_funds, …"
    )
    brand = models.CharField(max_length=30, blank=True)
    last4 = models.CharField(max_length=4)
    exp_month = models.PositiveSmallIntegerField(null=True, blank=True)
    exp_year = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.token} ({self.behaviour})"


class SandboxCharge(models.Model):
    charge_id = models.CharField(max_length=64, unique=True)
    idempotency_key = models.CharField(max_length=100, unique=True)
    token = models.CharField(max_length=64)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=20)
    decline_code = models.CharField(max_length=40, blank=True)
    message = models.CharField(max_length=200, blank=True)
    hard_decline = models.BooleanField(default=False)
    amount_refunded = models.BigIntegerField(default=0)
    description = models.CharField(max_length=200, blank=True)
    settles_at = models.DateTimeField(
        null=True, blank=True, help_text="Bank debits: when they settle or fail."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["status", "settles_at"], name="sandbox_charge_settling")]

    def __str__(self) -> str:
        return f"{self.charge_id} {self.status} {self.amount} {self.currency}"


class SandboxRefund(models.Model):
    refund_id = models.CharField(max_length=64, unique=True)
    idempotency_key = models.CharField(max_length=100, unique=True)
    charge = models.ForeignKey(SandboxCharge, on_delete=models.CASCADE, related_name="refunds")
    amount = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.refund_id


class SandboxEvent(models.Model):
    """A webhook the sandbox has to deliver (bank debits settling or failing)."""

    event_id = models.CharField(max_length=64, unique=True)
    type = models.CharField(max_length=40)
    charge_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}"
