"""Fixed-window rate limits kept in the shared cache (Redis), so every web process counts together."""

import hashlib
import ipaddress
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


def rate_limit_allows(*, scope: str, keys: list[str], rate: str) -> bool:
    """Count this attempt against every key, then say whether each is still within the limit.

    Counting comes first and is one atomic step per key (Redis INCR, through Django's cache API), so
    there is no moment between checking and counting: 40 concurrent attempts against a limit of 10
    let exactly 10 through. An attempt that turns out fine may be taken back (`rate_limit_forgive`).
    """
    limit, seconds = parse_rate(rate)
    try:
        counts = [_count(_cache_key(scope, key), seconds) for key in keys]
    except Exception:
        # A rate limiter that is down must not lock everyone out; it is logged so operators see it.
        logger.warning("Rate limit store unavailable; allowing %s", scope, exc_info=True)
        return True
    return all(count <= limit for count in counts)


def _count(cache_key: str, seconds: int) -> int:
    for _ in range(2):
        cache.add(cache_key, 0, timeout=seconds)  # opens the window; does nothing while one is open
        try:
            count = cache.incr(cache_key)
        except ValueError:
            continue  # the window closed between the two calls: open the next one
        if count == 1:
            # The first attempt of a window. Should the key have expired just before INCR, Redis made a
            # new one without an expiry: give it one, or this count would never end.
            cache.touch(cache_key, seconds)
        return count
    raise RuntimeError(f"Rate limit window {cache_key} keeps closing")


def rate_limit_forgive(*, scope: str, keys: list[str]) -> None:
    """Take back one counted attempt that turned out fine (the right password), so that only failures
    use up the limit; a window that has closed meanwhile has nothing to take back."""
    for key in keys:
        cache_key = _cache_key(scope, key)
        try:
            if cache.decr(cache_key) <= 0:
                cache.delete(cache_key)  # also a key DECR made anew had its window just closed
        except ValueError:
            pass
        except Exception:
            logger.warning("Rate limit store unavailable; could not forgive %s", scope, exc_info=True)
            return


def rate_limit_reset(*, scope: str, keys: list[str]) -> None:
    try:
        cache.delete_many([_cache_key(scope, key) for key in keys])
    except Exception:
        logger.warning("Rate limit store unavailable; could not reset %s", scope, exc_info=True)


def client_ip(request) -> str:
    """The address every per-address limit counts against.

    Behind proxies (USE_X_FORWARDED_FOR=true), each of the TRUSTED_PROXY_COUNT proxies in front of the
    app appends the address it was reached from to X-Forwarded-For, so the client's address is the entry
    that many from the right; whatever stands to its left the client wrote itself and is ignored. Without
    proxies only the socket's address counts, or any client could claim a fresh address per attempt, and
    for the same reason an IPv6 address counts by its /64, the block one subscriber is given.
    """
    address = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT if settings.USE_X_FORWARDED_FOR else 0
    if proxies > 0:
        forwarded = [entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [entry for entry in forwarded if entry]
        if forwarded:
            # Fewer entries than proxies: the request skipped the outer ones; the first is still a proxy's.
            address = forwarded[-min(proxies, len(forwarded))]
    return _address_block(address) or "unknown"


def _address_block(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:100]  # a proxy's odd entry ("unknown", host:port): still one key per value
    if ip.version == 4:
        return str(ip)
    if ip.ipv4_mapped:
        return str(ip.ipv4_mapped)
    return str(ipaddress.ip_network(f"{ip}/64", strict=False))
