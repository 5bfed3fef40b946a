"""Reads about API keys and webhooks, scoped to a partner."""

from django.db.models import Prefetch, QuerySet
from django.http import Http404

from api.models import ApiKey, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from partners.models import Partner


def api_key_list(*, partner: Partner) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(partner=partner).order_by("revoked_at", "-created_at", "-id")


def api_key_get(*, partner: Partner, key_id: int) -> ApiKey:
    try:
        return ApiKey.objects.get(partner=partner, pk=key_id)
    except ApiKey.DoesNotExist:
        raise Http404("No such API key.") from None


def webhook_endpoint_list(*, partner: Partner) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(partner=partner).order_by("created_at", "id")


def webhook_endpoint_get(*, partner: Partner, endpoint_id: int) -> WebhookEndpoint:
    try:
        return WebhookEndpoint.objects.get(partner=partner, pk=endpoint_id)
    except WebhookEndpoint.DoesNotExist:
        raise Http404("No such webhook endpoint.") from None


def delivery_log(*, endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    """The endpoint's deliveries, newest first, each with its tries (latest first)."""
    return (
        WebhookDelivery.objects.filter(partner_id=endpoint.partner_id, endpoint=endpoint)
        .select_related("event")
        .prefetch_related(Prefetch("tries", queryset=WebhookAttempt.objects.order_by("-number")))
        .order_by("-id")
    )


def delivery_row(delivery: WebhookDelivery) -> dict:
    last = next(iter(delivery.tries.all()), None)
    return {
        "id": delivery.pk,
        "event_id": delivery.event.public_id,
        "event_type": delivery.event.type,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "last_status_code": last.status_code if last else None,
        "last_latency_ms": last.latency_ms if last else None,
        "last_response_excerpt": last.response_excerpt if last else "",
        "last_error": last.error if last else "",
        "next_attempt_at": delivery.next_attempt_at,
        "created_at": delivery.created_at,
    }
