"""Every write about API keys, stored idempotent responses and webhook endpoints."""

import datetime
import hashlib
import hmac
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_scopes import scopes_disabled

from api.models import ApiKey, ApiKeyScope, IdempotentRequest, WebhookEndpoint, new_webhook_secret
from api.webhooks.catalogue import EVENT_TYPES
from api.webhooks.targets import target_refusal
from partners.models import Partner, User

# Last-used times are written at most this often per key: a busy integration must not turn every read
# into an UPDATE of the same row.
LAST_USED_RESOLUTION = datetime.timedelta(seconds=60)
# A rolled secret keeps signing alongside the new one for this long.
SECRET_OVERLAP = datetime.timedelta(hours=24)
IDEMPOTENCY_KEEP = datetime.timedelta(hours=24)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# API keys -------------------------------------------------------------------------------------------


def api_key_create(*, partner: Partner, name: str, scope: str, created_by: User | None) -> tuple[ApiKey, str]:
    """A new key and its secret, which is returned this once and never stored."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the key a name, e.g. the system that will use it."})
    if scope not in ApiKeyScope.values:
        raise ValidationError({"scope": "Choose Read-only or Read and write."})
    lookup = secrets.token_hex(6)
    secret = f"{settings.API_KEY_PREFIX}{lookup}_{secrets.token_urlsafe(24)}"
    key = ApiKey.objects.create(
        partner=partner,
        name=name[:100],
        scope=scope,
        prefix=settings.API_KEY_PREFIX,
        lookup=lookup,
        secret_hash=_hash(secret),
        created_by=created_by,
    )
    return key, secret


def api_key_revoke(*, key: ApiKey) -> ApiKey:
    """Effective on the next request: every request reads the key afresh."""
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return key


def api_key_authenticate(secret: str) -> ApiKey | None:
    """The live key a presented secret belongs to, or None (unknown, malformed, revoked)."""
    prefix = settings.API_KEY_PREFIX
    if not secret.startswith(prefix) or len(secret) > 200:
        return None
    lookup, _, rest = secret[len(prefix) :].partition("_")
    if not lookup or not rest:
        return None
    with scopes_disabled():  # the key is what says which partner this request is for
        key = ApiKey.objects.select_related("partner").filter(lookup=lookup, revoked_at=None).first()
    if key is None or not hmac.compare_digest(key.secret_hash, _hash(secret)) or not key.partner.is_active:
        return None
    now = timezone.now()
    if key.last_used_at is None or key.last_used_at < now - LAST_USED_RESOLUTION:
        with scopes_disabled():
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


# Idempotency ------------------------------------------------------------------------------------------


def request_fingerprint(*, method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


def idempotent_request_claim(
    *, partner: Partner, key: str, method: str, path: str, fingerprint: str
) -> tuple[IdempotentRequest, bool]:
    """(row, created) for this key, inside the caller's transaction. A second request with the same key
    waits on the first one's row (the unique index) until that commits or rolls back."""
    row, created = IdempotentRequest.objects.get_or_create(
        partner=partner,
        key=key,
        defaults={"method": method, "path": path[:500], "request_hash": fingerprint},
    )
    return row, created


def idempotent_request_store(*, row: IdempotentRequest, status_code: int, content_type: str, body: bytes):
    row.status_code, row.content_type, row.body = status_code, content_type[:100], body
    row.save(update_fields=["status_code", "content_type", "body"])


def idempotent_requests_forget(*, now: datetime.datetime) -> int:
    with scopes_disabled():  # a sweep over every partner
        deleted, _ = IdempotentRequest.objects.filter(created_at__lt=now - IDEMPOTENCY_KEEP).delete()
    return deleted


# Webhook endpoints ------------------------------------------------------------------------------------


def _check_endpoint(url: str, event_types: list[str]) -> None:
    errors = {}
    if refusal := target_refusal(url):
        errors["url"] = refusal
    unknown = sorted(set(event_types) - set(EVENT_TYPES))
    if not event_types:
        errors["event_types"] = "Choose at least one event type."
    elif unknown:
        errors["event_types"] = f"Unknown event types: {', '.join(unknown)}."
    if errors:
        raise ValidationError(errors)


def webhook_endpoint_create(
    *, partner: Partner, url: str, event_types: list[str], description: str = ""
) -> WebhookEndpoint:
    url = (url or "").strip()
    event_types = list(dict.fromkeys(event_types))
    _check_endpoint(url, event_types)
    return WebhookEndpoint.objects.create(
        partner=partner, url=url, event_types=event_types, description=description.strip()[:200]
    )


@transaction.atomic
def webhook_endpoint_update(*, endpoint: WebhookEndpoint, data: dict) -> WebhookEndpoint:
    """Change url, event_types, description; `enabled: true` turns a disabled endpoint back on."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    url = data.get("url", endpoint.url).strip()
    event_types = list(dict.fromkeys(data.get("event_types", endpoint.event_types)))
    _check_endpoint(url, event_types)
    endpoint.url, endpoint.event_types = url, event_types
    endpoint.description = data.get("description", endpoint.description).strip()[:200]
    if data.get("enabled") is True:
        endpoint.disabled_at, endpoint.disabled_reason = None, ""
    elif data.get("enabled") is False and endpoint.disabled_at is None:
        endpoint.disabled_at, endpoint.disabled_reason = timezone.now(), "Disabled by the partner."
    endpoint.save()
    return endpoint


@transaction.atomic
def webhook_endpoint_roll_secret(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """A new signing secret. For a day, deliveries are signed with both, so the receiver can switch."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = timezone.now() + SECRET_OVERLAP
    endpoint.secret = new_webhook_secret()
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
    return endpoint


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    endpoint.delete()
