"""Writing webhook events: one row per event and one delivery per subscribed endpoint, in the
transaction of the change (so a change that rolls back leaves nothing to send), handed to a worker once
that transaction commits. The periodic sweep delivers whatever a lost hand-off left behind."""

import datetime

from django.utils import timezone
from pydantic import BaseModel

from api.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent
from api.webhooks.catalogue import EVENT_TYPES
from core.tasks import enqueue


def _json(schema: type[BaseModel], obj) -> dict:
    return schema.model_validate(obj).model_dump(mode="json")


def event_record(*, partner_id: int, type: str, object_id: int, data: dict) -> WebhookEvent | None:
    """Record one event for the partner's endpoints that subscribe to `type` (none: nothing written)."""
    assert type in EVENT_TYPES, type
    endpoints = list(
        WebhookEndpoint.objects.filter(
            partner_id=partner_id, disabled_at=None, event_types__contains=[type]
        ).values_list("pk", flat=True)
    )
    if not endpoints:
        return None
    now = timezone.now()
    event = WebhookEvent.objects.create(partner_id=partner_id, type=type, object_id=object_id, payload={})
    event.payload = {
        "id": event.public_id,
        "type": type,
        "timestamp": now.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z"),
        "data": data,
    }
    event.save(update_fields=["payload"])
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            partner_id=partner_id,
            event=event,
            endpoint_id=endpoint_id,
            status=DeliveryStatus.PENDING,
            next_attempt_at=now,
        )
        for endpoint_id in endpoints
    )
    from api.tasks import deliver_webhook  # tasks wrap the delivery functions, so they import this module

    for delivery in deliveries:
        enqueue(deliver_webhook, partner_id=partner_id, delivery_id=delivery.pk)
    return event


def schema_json(schema: type[BaseModel], obj) -> dict:
    """An object as the API shows it, as JSON-ready data for a payload."""
    return _json(schema, obj)
