"""Sessions live in Redis and PostgreSQL (Django's cached_db engine over core.cache): Redis is only a
faster copy, so signing in and out works while Redis is down or stalled."""

import socket
import time

import pytest
from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.factories import PASSWORD

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


@pytest.fixture(params=["refused", "stalled"])
def unreachable_redis(request, settings):
    """The cache pointed at a port nobody listens on, or at a server that accepts and never answers."""
    with socket.socket() as stalled:
        stalled.bind(("127.0.0.1", 0))
        if request.param == "stalled":
            stalled.listen(64)
        port = stalled.getsockname()[1]
        settings.CACHES = {
            "default": {**settings.CACHES["default"], "LOCATION": f"redis://127.0.0.1:{port}/0"}
        }
        yield request.param


def test_signing_in_and_out_works_while_redis_is_down_or_stalled(client, owner, unreachable_redis, settings):
    started = time.monotonic()
    response = client.post(reverse("login"), {"username": owner.email, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("dashboard")).status_code == 200  # the session, read from PostgreSQL
    client.post(reverse("logout"))
    assert client.get(reverse("dashboard")).status_code == 302
    # One socket timeout at most for the lot: after the first failure the cache skips Redis (core.redis).
    assert time.monotonic() - started < settings.REDIS_SOCKET_TIMEOUT + 1
