"""The cache: Django's own Redis backend, whose short socket timeouts keep a stalled Redis from
hanging a request."""

import socket
import time

import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache


def test_values_round_trip_through_redis():
    cache.set("round-trip", {"amount": 125050})
    assert cache.get("round-trip") == {"amount": 125050}


def test_a_redis_that_accepts_but_never_answers_fails_a_read_within_the_socket_timeout():
    with socket.socket() as stalled:
        stalled.bind(("127.0.0.1", 0))
        stalled.listen()  # the kernel accepts connections; nothing ever replies
        host, port = stalled.getsockname()
        backend = RedisCache(f"redis://{host}:{port}/0", {"OPTIONS": settings.CACHES["default"]["OPTIONS"]})
        started = time.monotonic()
        with pytest.raises(redis.exceptions.TimeoutError):
            backend.get("anything")
    assert time.monotonic() - started < settings.REDIS_SOCKET_TIMEOUT + 1
