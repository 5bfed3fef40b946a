"""Django's Redis cache backend, keeping one redis.Redis client per connection pool.

django.core.cache.backends.redis builds a new redis.Redis for every call. Building one copies
redis-py's table of response callbacks and took about 70 us here, as long as the GET itself; every
signed-in page reads its session through this cache. A client is safe to share between threads: each
command borrows a connection from the pool (which also notices a fork).
"""

from django.core.cache.backends import redis


class _SharedClientCacheClient(redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        if index not in self._clients:
            self._clients[index] = self._client(connection_pool=self._get_connection_pool(write))
        return self._clients[index]


class RedisCache(redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _SharedClientCacheClient
