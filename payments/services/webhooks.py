"""Gateway webhooks: verified, deduplicated, applied."""

import logging
from collections.abc import Mapping

from django.db import IntegrityError, transaction
from django_scopes import scopes_disabled

from payments.gateways import get_gateway
from payments.models import (
    PaymentAttempt,
    WebhookDelivery,
)
from payments.services.attempts import attempt_record

logger = logging.getLogger(__name__)


def webhook_receive(*, body: bytes, headers: Mapping[str, str]) -> str:
    """Verify, deduplicate and apply one gateway webhook. The event is only a trigger: the charge is
    read again from the gateway and applied under the invoice's lock, so duplicated or out-of-order
    deliveries change nothing. Raises WebhookInvalid for forged or stale ones."""
    gateway = get_gateway()
    event = gateway.parse_webhook(body, headers)
    if WebhookDelivery.objects.filter(gateway=gateway.name, event_id=event.id).exists():
        return "duplicate"
    charge = gateway.get_charge(event.charge_id)
    with scopes_disabled():  # a processor's webhook: its charge id finds the partner
        attempt = PaymentAttempt.objects.filter(
            gateway=gateway.name, idempotency_key=charge.idempotency_key
        ).first()
    with transaction.atomic():
        try:
            with transaction.atomic():
                WebhookDelivery.objects.create(
                    gateway=gateway.name, event_id=event.id, event_type=event.type, charge_id=event.charge_id
                )
        except IntegrityError:
            return "duplicate"
        if attempt is None:
            logger.info("Webhook %s is about charge %s, which is not ours; ignored", event.id, charge.id)
            return "ignored"
        attempt_record(attempt_id=attempt.pk, charge=charge)
    return "applied"
