"""Fixed-window rate limits kept in the shared cache (Redis), so every web process counts together."""

import hashlib
import logging

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)


def parse_rate(rate: str) -> tuple[int, int]:
    """ "10/900" means 10 attempts per 900 seconds."""
    limit, seconds = rate.split("/")
    return int(limit), int(seconds)


def _cache_key(scope: str, key: str) -> str:
    # Hashed: keys carry user input (emails), which must not shape or overflow cache keys.
    return f"ratelimit:{scope}:{hashlib.sha256(key.encode()).hexdigest()[:32]}"


def rate_limit_exceeded(*, scope: str, keys: list[str], rate: str) -> bool:
    limit, _ = parse_rate(rate)
    try:
        counts = cache.get_many([_cache_key(scope, key) for key in keys])
    except Exception:
        # A rate limiter that is down must not lock everyone out; it is logged so operators see it.
        logger.warning("Rate limit store unavailable; allowing %s", scope, exc_info=True)
        return False
    return any(count >= limit for count in counts.values())


def rate_limit_hit(*, scope: str, keys: list[str], rate: str) -> None:
    _, seconds = parse_rate(rate)
    for key in keys:
        cache_key = _cache_key(scope, key)
        try:
            if not cache.add(cache_key, 1, timeout=seconds):
                cache.incr(cache_key)
        except ValueError:
            cache.set(cache_key, 1, timeout=seconds)  # expired between add and incr
        except Exception:
            logger.warning("Rate limit store unavailable; not counting %s", scope, exc_info=True)
            return


def rate_limit_reset(*, scope: str, keys: list[str]) -> None:
    try:
        cache.delete_many([_cache_key(scope, key) for key in keys])
    except Exception:
        logger.warning("Rate limit store unavailable; could not reset %s", scope, exc_info=True)


def client_ip(request) -> str:
    # Only a deployment behind a proxy it controls may trust X-Forwarded-For (USE_X_FORWARDED_FOR=true);
    # otherwise any client could claim a fresh address per attempt.
    if settings.USE_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR", "unknown")
