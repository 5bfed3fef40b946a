"""Gateway webhooks: verified, deduplicated, applied."""

import logging
from collections.abc import Mapping

from django.db import IntegrityError, transaction
from django_scopes import scopes_disabled

from payments.gateways import gateway_for_account, sandbox_gateway
from payments.models import (
    Payment,
    PaymentAttempt,
    ProcessorAccount,
    WebhookDelivery,
)
from payments.services.attempts import attempt_record
from payments.services.disputes import dispute_record
from payments.services.processors import processor_account_event

logger = logging.getLogger(__name__)


def webhook_receive(
    *, body: bytes, headers: Mapping[str, str], account: ProcessorAccount | None = None
) -> str:
    """Verify, deduplicate and apply one gateway webhook: the sandbox's, or one sent to a partner's own
    processor account's URL (`account`). The event is only a trigger: the charge is read again from the
    gateway and applied under the invoice's lock, so duplicated or out-of-order deliveries change
    nothing. Raises WebhookInvalid for forged or stale ones."""
    gateway = gateway_for_account(account) if account is not None else sandbox_gateway()
    event = gateway.parse_webhook(body, headers)
    if WebhookDelivery.objects.filter(gateway=gateway.name, event_id=event.id).exists():
        return "duplicate"
    if event.type.startswith("account.") and account is not None:
        result = processor_account_event(account=account, event_type=event.type)
        return _delivered(gateway, event, result)
    if event.type.startswith("charge.dispute."):
        return _dispute_event(gateway, event, account)
    if not event.charge_id:
        return _delivered(gateway, event, "ignored")
    charge = gateway.get_charge(event.charge_id)
    with scopes_disabled():  # a processor's webhook: its charge id finds the partner
        attempts = PaymentAttempt.objects.filter(gateway=gateway.name, idempotency_key=charge.idempotency_key)
        if account is not None:
            attempts = attempts.filter(partner_id=account.partner_id)
        attempt = attempts.first()
    with transaction.atomic():
        if _delivered(gateway, event, "new") == "duplicate":
            return "duplicate"
        if attempt is None:
            logger.info("Webhook %s is about charge %s, which is not ours; ignored", event.id, charge.id)
            return "ignored"
        attempt_record(attempt_id=attempt.pk, charge=charge)
    return "applied"


def _dispute_event(gateway, event, account: ProcessorAccount | None) -> str:
    """A dispute opened, changed or closed: read it again and apply it to the disputed payment."""
    dispute = gateway.get_dispute(event.object_id)
    with scopes_disabled():  # a processor's webhook: its charge id finds the partner
        payments = Payment.objects.filter(gateway_charge_id=dispute.charge_id, attempt__gateway=gateway.name)
        if account is not None:
            payments = payments.filter(partner_id=account.partner_id)
        payment = payments.select_related("invoice").first()
    with transaction.atomic():
        if _delivered(gateway, event, "new") == "duplicate":
            return "duplicate"
        if payment is None:
            logger.info("Webhook %s is about dispute %s, not of our payments; ignored", event.id, dispute.id)
            return "ignored"
        dispute_record(payment=payment, gateway=gateway.name, dispute=dispute)
    return "applied"


def _delivered(gateway, event, result: str) -> str:
    """Record the event as delivered (once: a redelivery meanwhile answers "duplicate")."""
    try:
        with transaction.atomic():
            WebhookDelivery.objects.create(
                gateway=gateway.name, event_id=event.id, event_type=event.type, charge_id=event.charge_id
            )
    except IntegrityError:
        return "duplicate"
    return result
