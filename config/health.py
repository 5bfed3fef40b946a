"""Liveness for operators: /healthz checks PostgreSQL and Redis; the heartbeat proves beat + worker run."""

import functools
import logging
import time

import redis
from celery import shared_task
from django.conf import settings
from django.db import connection, transaction
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "invoicing:heartbeat"


def _redis() -> redis.Redis:
    return _redis_client(settings.REDIS_URL, settings.REDIS_SOCKET_TIMEOUT)


@functools.cache
def _redis_client(url: str, timeout: float) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)


def check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:
        return f"postgresql: {error.__class__.__name__}: {error}".strip()
    return None


def check_redis() -> str | None:
    try:
        _redis().ping()
    except Exception as error:
        return f"redis: {error.__class__.__name__}: {error}".strip()
    return None


def last_heartbeat() -> float | None:
    try:
        value = _redis().get(HEARTBEAT_KEY)
    except Exception:
        return None
    return float(value) if value else None


@never_cache
@transaction.non_atomic_requests  # must answer 503 when the database is down, not fail opening a transaction
def healthz(request):
    """200 when PostgreSQL and Redis answer, else 503 naming what is down.

    The last worker heartbeat is reported but does not fail the check: the web can serve while the
    worker restarts, and the operator sees how long ago beat and worker last completed a round trip.
    """
    redis_down = check_redis()
    failures = [failure for failure in (check_database(), redis_down) if failure]
    beat = None if redis_down else last_heartbeat()  # a stalled Redis is waited for once, not twice
    body = {
        "status": "ok" if not failures else "unavailable",
        "down": failures,
        "worker_heartbeat_age_s": round(time.time() - beat, 1) if beat else None,
    }
    return JsonResponse(body, status=503 if failures else 200)


@shared_task(name="config.health.heartbeat", ignore_result=False)
def heartbeat() -> float:
    """Scheduled by beat every 30 s; running it in a worker records that both are alive."""
    now = time.time()
    _redis().set(HEARTBEAT_KEY, now, ex=3600)
    return now
