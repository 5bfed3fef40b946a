"""Redis is a cache and a broker here, never the source of truth: when it stalls or is down, a request
pays for one failed call at most (the socket timeout), then skips Redis for a few seconds.

`RedisBreaker` is that memory, one per Redis server and process: the cache (`core.cache`) and the task
publisher (`core.tasks.enqueue`) trip it on a connection error or timeout and ask it before calling.
"""

import logging
import threading
import time
from urllib.parse import urlsplit

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

# What "Redis is unreachable" looks like: refused, reset, timed out, loading. A ResponseError is a bug.
REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)


class RedisBreaker:
    def __init__(self, server: str) -> None:
        self.server = server
        self._closed_at = 0.0  # monotonic time from which Redis is asked again

    def is_open(self) -> bool:
        """True while Redis failed less than REDIS_RETRY_SECONDS ago: do not call it."""
        return time.monotonic() < self._closed_at

    def trip(self, error: BaseException) -> None:
        if not self.is_open():
            logger.warning(
                "Redis at %s unreachable (%s: %s); not asking it for %s s",
                self.server,
                error.__class__.__name__,
                error,
                settings.REDIS_RETRY_SECONDS,
            )
        self._closed_at = time.monotonic() + settings.REDIS_RETRY_SECONDS

    def reset(self) -> None:
        self._closed_at = 0.0


_breakers: dict[str, RedisBreaker] = {}
_lock = threading.Lock()


def breaker_for(url: str) -> RedisBreaker:
    """The breaker of the server `url` names (host and port: every database on it stalls together)."""
    parts = urlsplit(url)
    server = f"{parts.hostname}:{parts.port or 6379}" if parts.hostname else url
    with _lock:
        return _breakers.setdefault(server, RedisBreaker(server))


def reset_breakers() -> None:
    """Ask every Redis again at once (tests, and after an operator fixed the outage)."""
    for breaker in list(_breakers.values()):
        breaker.reset()
