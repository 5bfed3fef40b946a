"""API keys, stored idempotent responses, and outbound webhooks (endpoints, events, deliveries).

Every row is a partner's (a `partner` foreign key and a ScopedManager), like the rest of the app.
"""

import base64
import secrets

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django_scopes import ScopedManager

from partners.models import Partner


class ApiKeyScope(models.TextChoices):
    READ = "read", "Read-only"
    READ_WRITE = "read_write", "Read and write"


class ApiKey(models.Model):
    """A partner's secret for the API. Only a SHA-256 of the secret is kept; `lookup` (shown in the list
    as part of the key's prefix) finds the row without a scan."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    scope = models.CharField(max_length=20, choices=ApiKeyScope.choices, default=ApiKeyScope.READ)
    prefix = models.CharField(max_length=20, help_text="inv_live_ or inv_test_")
    lookup = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(partner="partner")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.display_prefix}…)"

    @property
    def display_prefix(self) -> str:
        return f"{self.prefix}{self.lookup}"

    @property
    def can_write(self) -> bool:
        return self.scope == ApiKeyScope.READ_WRITE

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class IdempotentRequest(models.Model):
    """The first answer to a POST that carried an `Idempotency-Key`: replayed for the same key and body,
    refused (409) for the same key with another body. Written in the transaction of the change itself."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    content_type = models.CharField(max_length=100, blank=True)
    body = models.BinaryField(default=bytes)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = ScopedManager(partner="partner")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["partner", "key"], name="idempotent_request_unique_key")
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.key})"


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: whsec_ and 24 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


class WebhookEndpoint(models.Model):
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    url = models.URLField(max_length=1000)
    description = models.CharField(max_length=200, blank=True)
    event_types = ArrayField(models.CharField(max_length=60), default=list)
    secret = models.CharField(max_length=100, default=new_webhook_secret)
    # While a rolled secret is still accepted, deliveries carry a signature with each (Standard Webhooks
    # lets a header hold several), so the receiver can switch without missing one.
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager(partner="partner")

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.url

    @property
    def is_enabled(self) -> bool:
        return self.disabled_at is None


class WebhookEvent(models.Model):
    """Something that happened, with the payload every endpoint receives. Written by the receivers of
    the domain signals, inside the transaction of the change: a change that rolls back leaves none."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    type = models.CharField(max_length=60)
    object_id = models.BigIntegerField(help_text="The id of the invoice, payment, customer... it is about.")
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager(partner="partner")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["partner", "type", "object_id"], name="webhook_event_object")]

    def __str__(self) -> str:
        return f"{self.type} {self.object_id}"

    @property
    def public_id(self) -> str:
        return f"evt_{self.pk}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Delivered"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """One event for one endpoint, delivered at least once: retried with backoff until it succeeds or
    the schedule (about three days) runs out. `next_attempt_at` is also the lease of a worker sending it:
    one that dies mid-send leaves a row the sweep picks up again once the lease is over."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(partner="partner")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=models.Q(status="pending"), name="webhook_delivery_due"
            ),
            models.Index(fields=["endpoint", "-created_at", "-id"], name="webhook_delivery_log"),
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.endpoint_id}: {self.status}"


class WebhookAttempt(models.Model):
    """One try at a delivery, for the endpoint's delivery log."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="tries")
    number = models.PositiveSmallIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    succeeded = models.BooleanField(default=False)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager(partner="partner")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Try {self.number} of {self.delivery_id}: {self.status_code or self.error}"
