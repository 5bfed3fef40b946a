"""Delivering webhook events, at least once, signed as the Standard Webhooks specification says.

A delivery is claimed by pushing its `next_attempt_at` a lease ahead and counting the try, committed
before the request goes out; a worker that dies while sending leaves a row the sweep sends again once
the lease is over (the receiver dedupes on `webhook-id`). Failed tries are retried on RETRY_SCHEDULE,
about three days in all; an endpoint whose deliveries keep failing for that long is disabled and the
partner is emailed.
"""

import datetime
import json
import logging
import time
from urllib.parse import urlsplit

import urllib3
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from standardwebhooks.webhooks import Webhook

from api.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from api.webhooks.targets import TargetRefused, resolve_target
from reminders.selectors import alert_recipients
from reminders.services import email_send

logger = logging.getLogger(__name__)

# Seconds to wait after the n-th failed try: 12 tries over about three days (73 hours).
RETRY_SCHEDULE = [30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 24 * 3600, 24 * 3600]
MAX_TRIES = len(RETRY_SCHEDULE) + 1
# How long a claimed delivery is left to its worker before the sweep sends it again.
LEASE = datetime.timedelta(minutes=2)
EXCERPT = 500
SWEEP_BATCH = 100


def _claim(delivery_id: int, *, force: bool = False) -> WebhookDelivery | None:
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("event", "endpoint")
            .filter(pk=delivery_id, status=DeliveryStatus.PENDING)
            .first()
        )
        now = timezone.now()
        if delivery is None or (not force and delivery.next_attempt_at and delivery.next_attempt_at > now):
            return None
        if delivery.endpoint.disabled_at is not None:
            return None
        delivery.attempts += 1
        delivery.next_attempt_at = now + LEASE
        delivery.save(update_fields=["attempts", "next_attempt_at"])
        return delivery


def signature_headers(endpoint: WebhookEndpoint, *, msg_id: str, body: bytes, at: datetime.datetime) -> dict:
    secrets = [endpoint.secret]
    if (
        endpoint.previous_secret
        and endpoint.previous_secret_expires_at
        and endpoint.previous_secret_expires_at > at
    ):
        secrets.append(endpoint.previous_secret)
    signatures = " ".join(Webhook(secret).sign(msg_id=msg_id, timestamp=at, data=body) for secret in secrets)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signatures,
    }


def _post(url: str, headers: dict, body: bytes) -> tuple[int, str]:
    """POST to the address the target check resolved (never one a second DNS answer picks)."""
    scheme, host, port, address = resolve_target(url)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    timeout = urllib3.Timeout(total=settings.WEBHOOK_TIMEOUT_SECONDS)
    if scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address,
            port,
            server_hostname=host,
            assert_hostname=host,
            timeout=timeout,
            retries=False,
            maxsize=1,
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False, maxsize=1)
    headers = {**headers, "Host": host if port in (80, 443) else f"{host}:{port}"}
    try:
        response = pool.urlopen(
            "POST", path, body=body, headers=headers, redirect=False, preload_content=False
        )
        text = response.read(EXCERPT * 4, decode_content=True).decode("utf-8", "replace")
        response.release_conn()
        return response.status, text[:EXCERPT]
    finally:
        pool.close()


def webhook_deliver(*, delivery_id: int, force: bool = False) -> str:
    """One try of one delivery, if it is due (or `force`d, from Resend). Safe to run twice."""
    delivery = _claim(delivery_id, force=force)
    if delivery is None:
        return "not due"
    endpoint, event = delivery.endpoint, delivery.event
    body = json.dumps(event.payload, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "invoicing-webhooks/1",
        **signature_headers(endpoint, msg_id=event.public_id, body=body, at=timezone.now()),
    }
    started = time.monotonic()
    status_code, excerpt, error = None, "", ""
    try:
        status_code, excerpt = _post(endpoint.url, headers, body)
    except TargetRefused as refused:
        error = str(refused)
    except (urllib3.exceptions.HTTPError, OSError) as failure:
        error = f"{type(failure).__name__}: {failure}"[:300]
    latency = int((time.monotonic() - started) * 1000)
    return _record(delivery, status_code=status_code, excerpt=excerpt, error=error, latency_ms=latency)


@transaction.atomic
def _record(delivery, *, status_code, excerpt, error, latency_ms) -> str:
    succeeded = status_code is not None and 200 <= status_code < 300
    WebhookAttempt.objects.create(
        partner_id=delivery.partner_id,
        delivery=delivery,
        number=delivery.attempts,
        status_code=status_code,
        succeeded=succeeded,
        latency_ms=latency_ms,
        response_excerpt=excerpt,
        error=error,
    )
    now = timezone.now()
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
    if succeeded:
        delivery.status, delivery.completed_at, delivery.next_attempt_at = DeliveryStatus.SUCCEEDED, now, None
        endpoint.last_success_at = now
        endpoint.save(update_fields=["last_success_at"])
    elif delivery.attempts >= MAX_TRIES:
        delivery.status, delivery.completed_at, delivery.next_attempt_at = DeliveryStatus.FAILED, now, None
        if endpoint.last_success_at is None or endpoint.last_success_at < delivery.created_at:
            _disable(endpoint, now)
    else:
        delivery.next_attempt_at = now + datetime.timedelta(seconds=RETRY_SCHEDULE[delivery.attempts - 1])
    delivery.save(update_fields=["status", "completed_at", "next_attempt_at"])
    return delivery.status


def _disable(endpoint: WebhookEndpoint, now) -> None:
    """Every try of a delivery failed over the whole schedule, with no success since: stop sending and
    tell the partner (they turn it back on from Settings → Developers or the API)."""
    if endpoint.disabled_at is not None:
        return
    endpoint.disabled_at = now
    endpoint.disabled_reason = f"Every delivery failed for {sum(RETRY_SCHEDULE) // 3600} hours."
    endpoint.save(update_fields=["disabled_at", "disabled_reason"])
    with scope(partner=endpoint.partner):
        recipients = alert_recipients(partner=endpoint.partner)
        if recipients:
            email_send(
                to=recipients,
                subject=f"Webhook endpoint disabled: {endpoint.url}",
                template="api/emails/webhook_disabled",
                context={"endpoint": endpoint, "partner": endpoint.partner},
            )
    WebhookDelivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.FAILED, completed_at=now, next_attempt_at=None
    )


def webhook_resend(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """The Resend button: a new delivery of the same event, sent now (the endpoint dedupes on its id)."""
    copy = WebhookDelivery.objects.create(
        partner_id=delivery.partner_id,
        event_id=delivery.event_id,
        endpoint_id=delivery.endpoint_id,
        next_attempt_at=timezone.now(),
    )
    from api.tasks import deliver_webhook
    from core.tasks import enqueue

    enqueue(deliver_webhook, partner_id=copy.partner_id, delivery_id=copy.pk)
    return copy


def webhooks_deliver_due(*, now: datetime.datetime) -> int:
    """The sweep: every pending delivery whose time (or lease) has come, across partners."""
    with scopes_disabled():
        due = list(
            WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at")
            .values_list("pk", "partner_id")[:SWEEP_BATCH]
        )
    for delivery_id, partner_id in due:
        with scope(partner=partner_id):
            webhook_deliver(delivery_id=delivery_id)
    return len(due)
