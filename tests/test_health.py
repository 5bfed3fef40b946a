import pytest
from django.db import OperationalError
from django.urls import reverse

from config import health

pytestmark = pytest.mark.django_db


def test_healthz_is_200_when_postgres_and_redis_answer(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_healthz_is_503_naming_redis_when_redis_is_down(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    (down,) = response.json()["down"]
    assert down.startswith("redis:")


def test_healthz_is_503_naming_postgres_when_the_database_is_down(client, monkeypatch):
    class BrokenCursor:
        def __enter__(self):
            raise OperationalError("connection refused")

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(health.connection, "cursor", lambda: BrokenCursor())
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["down"][0].startswith("postgresql:")


def test_the_heartbeat_task_records_when_the_worker_last_ran(client):
    assert client.get(reverse("healthz")).json()["worker_heartbeat_age_s"] is None
    health.heartbeat.delay()
    age = client.get(reverse("healthz")).json()["worker_heartbeat_age_s"]
    assert age is not None
    assert 0 <= age < 60


def test_the_beat_schedule_runs_the_heartbeat():
    from config.celery import app

    tasks = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert "config.health.heartbeat" in tasks
