"""The cache: Django's Redis backend with short socket timeouts (core.cache), answering as an empty cache
while Redis is unreachable and skipping a stalled one after its first timeout (core.redis)."""

import socket
import time

import pytest
from django.conf import settings
from django.core.cache import cache

from core.cache import ResilientRedisCache


def test_values_round_trip_through_redis():
    cache.set("round-trip", {"amount": 125050})
    assert cache.get("round-trip") == {"amount": 125050}


def test_a_redis_that_accepts_but_never_answers_fails_a_read_within_the_socket_timeout():
    with socket.socket() as stalled:
        stalled.bind(("127.0.0.1", 0))
        stalled.listen()  # the kernel accepts connections; nothing ever replies
        host, port = stalled.getsockname()
        backend = ResilientRedisCache(
            f"redis://{host}:{port}/0", {"OPTIONS": settings.CACHES["default"]["OPTIONS"]}
        )
        started = time.monotonic()
        assert backend.get("anything", "default") == "default"
        assert time.monotonic() - started < settings.REDIS_SOCKET_TIMEOUT + 1
        started = time.monotonic()  # the breaker is open now: nothing waits for the stalled server
        assert backend.set("key", 1) is None
        assert backend.add("key", 1) is False
        assert "key" not in backend
        assert backend.get_many(["a", "b"]) == {}
        assert backend.delete("key") is False
        with pytest.raises(ValueError, match="not found"):
            backend.incr("key")
        assert time.monotonic() - started < 0.1
        backend.breaker.reset()
        started = time.monotonic()
        assert backend.get("anything") is None  # asked again, and it still does not answer
    assert time.monotonic() - started < settings.REDIS_SOCKET_TIMEOUT + 1
