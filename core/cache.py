"""The cache: Django's Redis backend, made to behave as an empty cache while Redis is unreachable.

Everything cached here can be rebuilt (sessions from PostgreSQL, PDFs from the invoice, rate-limit
windows start again), so an unreachable Redis is a miss, never an error in the request: reads answer
their default, writes do nothing, and `RedisBreaker` keeps the next calls from waiting on a stalled
server for REDIS_RETRY_SECONDS. Sessions (Django's `cached_db` engine) and the rate limits rely on it.
"""

import re

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache

from core.redis import REDIS_DOWN, breaker_for


class ResilientRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        first = re.split("[;,]", server)[0] if isinstance(server, str) else server[0]
        self.breaker = breaker_for(first)  # a list of servers (primary, replicas) stalls with its primary

    def _or(self, fallback, operation, *args, **kwargs):
        if self.breaker.is_open():
            return fallback
        try:
            return operation(*args, **kwargs)
        except REDIS_DOWN as error:
            self.breaker.trip(error)
            return fallback

    def get(self, key, default=None, version=None):
        return self._or(default, super().get, key, default, version)

    def get_many(self, keys, version=None):
        return self._or({}, super().get_many, keys, version)

    def has_key(self, key, version=None):
        return self._or(False, super().has_key, key, version)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._or(False, super().add, key, value, timeout, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._or(None, super().set, key, value, timeout, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._or(list(data), super().set_many, data, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._or(False, super().touch, key, timeout, version)

    def delete(self, key, version=None):
        return self._or(False, super().delete, key, version)

    def delete_many(self, keys, version=None):
        return self._or(None, super().delete_many, keys, version)

    def incr(self, key, delta=1, version=None):
        # An unreachable cache holds no key: INCR of a missing key is a ValueError in Django's API.
        result = self._or(_MISSING, super().incr, key, delta, version)
        if result is _MISSING:
            raise ValueError(f"Key '{key}' not found (the cache is unreachable)")
        return result

    def clear(self):
        return self._or(False, super().clear)


_MISSING = object()
