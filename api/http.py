"""What every API request goes through before and after its endpoint, at the URL level (so it sees the
final HTTP response): the key, the rate limit, the partner's scope, the body limit, one transaction per
write that rolls back on any error answer, and Idempotency-Key replays.

As partners.middleware does for pages, the whole endpoint runs inside `scope(partner=key.partner)`: a
query that names no partner raises instead of leaking, and another partner's id is simply not found.
"""

import functools

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse
from django.utils import timezone
from django_scopes import scope

from api.models import ApiKey
from api.problems import problem_response
from api.services import (
    api_key_authenticate,
    idempotent_request_claim,
    idempotent_request_store,
    request_fingerprint,
)
from partners.ratelimit import parse_rate, rate_limit_allows

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
IDEMPOTENCY_HEADER = "HTTP_IDEMPOTENCY_KEY"


def _presented_key(request) -> ApiKey | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    kind, _, secret = header.partition(" ")
    if kind.lower() != "bearer" or not secret.strip():
        return None
    return api_key_authenticate(secret.strip())


def api_view(view, *, atomic: bool = True):
    """Wrap one of the API's URL callbacks. `atomic=False` for an endpoint whose service commits on its
    own before calling out (a refund is committed before the gateway is asked)."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        length = request.META.get("CONTENT_LENGTH") or "0"
        if not length.isdigit() or int(length) > settings.API_MAX_BODY_BYTES:
            return problem_response(
                413, f"A request body can be at most {settings.API_MAX_BODY_BYTES} bytes."
            )
        key = _presented_key(request)
        request.api_key = key
        if key is None:
            return view(request, *args, **kwargs)  # the endpoint's auth answers 401; the schema is public
        limit, seconds = parse_rate(settings.API_RATE_LIMIT)
        if not rate_limit_allows(scope="api", keys=[key.lookup], rate=settings.API_RATE_LIMIT):
            return problem_response(
                429,
                f"This key made more than {limit} requests in {seconds} seconds.",
                headers={"Retry-After": str(seconds)},
            )
        request.partner = key.partner
        writes = request.method not in SAFE_METHODS
        if writes and not key.can_write:
            return problem_response(403, "This API key is read-only.")
        timezone.activate(key.partner.zone)
        try:
            with scope(partner=key.partner):
                if not writes or not atomic:
                    return view(request, *args, **kwargs)
                return _write(view, request, key, args, kwargs)
        finally:
            timezone.activate(settings.TIME_ZONE)

    wrapped.api_atomic = atomic
    return transaction.non_atomic_requests(wrapped)


def _write(view, request, key: ApiKey, args, kwargs):
    """One transaction: the change, its webhook events and its idempotency record commit together, and
    any error answer rolls all of it back."""
    idempotency_key = request.META.get(IDEMPOTENCY_HEADER, "")
    if request.method == "POST" and (len(idempotency_key) > 255 or not idempotency_key.isprintable()):
        return problem_response(400, "An Idempotency-Key is at most 255 printable characters.")
    with transaction.atomic():
        row = None
        if request.method == "POST" and idempotency_key:
            fingerprint = request_fingerprint(method=request.method, path=request.path, body=request.body)
            # A concurrent request with the same key waits here for the first one's transaction.
            row, created = idempotent_request_claim(
                partner=key.partner,
                key=idempotency_key,
                method=request.method,
                path=request.path,
                fingerprint=fingerprint,
            )
            if not created:
                return _replay(row, fingerprint)
        response = view(request, *args, **kwargs)
        if response.status_code >= 400:
            transaction.set_rollback(True)
        elif row is not None:
            idempotent_request_store(
                row=row,
                status_code=response.status_code,
                content_type=response.get("Content-Type", ""),
                body=response.content,
            )
        return response


def _replay(row, fingerprint: str):
    if row.request_hash != fingerprint:
        return problem_response(
            409,
            "This Idempotency-Key was already used with another request. Use a new key for a new request.",
        )
    response = HttpResponse(bytes(row.body), status=row.status_code, content_type=row.content_type)
    response["Idempotent-Replayed"] = "true"
    return response


def idempotency_key_of(request) -> str:
    return request.META.get(IDEMPOTENCY_HEADER, "")
