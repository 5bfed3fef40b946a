"""Sessions live in Redis and PostgreSQL (config.sessions): Redis is only a faster copy."""

import pytest
from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from redis.exceptions import ConnectionError as RedisConnectionError

pytestmark = pytest.mark.django_db


def test_a_signed_in_page_reads_its_session_from_redis(owner_client):
    owner_client.get(reverse("dashboard"))  # the first read fills the cache from the database
    with CaptureQueriesContext(connection) as captured:
        assert owner_client.get(reverse("dashboard")).status_code == 200
    assert not any("django_session" in query["sql"] for query in captured.captured_queries)


def test_a_redis_flush_signs_nobody_out(owner_client):
    owner_client.get(reverse("dashboard"))
    cache.clear()
    assert owner_client.get(reverse("dashboard")).status_code == 200


def test_pages_keep_working_while_redis_is_down(owner_client, monkeypatch):
    def refuse(*args, **kwargs):
        raise RedisConnectionError("Connection refused")

    monkeypatch.setattr(RedisCache, "get", refuse)
    monkeypatch.setattr(RedisCache, "set", refuse)
    response = owner_client.get(reverse("dashboard"))
    assert response.status_code == 200
    assert "Sign out" in response.content.decode()


def test_signing_out_ends_the_session_in_redis_too(owner_client):
    owner_client.get(reverse("dashboard"))
    owner_client.post(reverse("logout"))
    assert owner_client.get(reverse("dashboard")).status_code == 302
