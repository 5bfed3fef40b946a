"""config.cache: Django's Redis cache with one client per connection pool instead of one per call."""

import threading

from django.core.cache import cache, caches

from config.cache import RedisCache


def test_the_cache_is_ours_and_reuses_its_client():
    assert isinstance(caches["default"], RedisCache)
    cache.set("shared-client", {"amount": 125050})
    assert cache.get("shared-client") == {"amount": 125050}
    assert cache._cache.get_client(write=False) is cache._cache.get_client(write=False)
    assert cache._cache.get_client(write=True) is cache._cache.get_client(write=True)


def test_threads_share_the_client_safely():
    errors = []

    def work(n: int) -> None:
        for i in range(50):
            cache.set(f"thread-{n}-{i}", i)
            if cache.get(f"thread-{n}-{i}") != i:
                errors.append((n, i))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
