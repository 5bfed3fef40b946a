import signal
import socket
import threading
import time

import pytest
from celery import shared_task
from django_scopes import scopes_disabled
from kombu.exceptions import OperationalError

from config.celery import app
from core.models import PendingTask
from core.redis import reset_breakers
from core.tasks import enqueue, partner_task, publish_pending_tasks
from customers.models import Customer
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
calls = []


@shared_task(name="tests.record")
def record(*, value: int) -> None:
    calls.append(value)


def test_enqueue_waits_for_the_commit(django_capture_on_commit_callbacks):
    calls.clear()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        enqueue(record, value=7)
    assert calls == []
    for callback in callbacks:
        callback()
    assert calls == [7]


@pytest.fixture
def stalled_redis():
    """A TCP server that accepts connections and never answers: a hung Redis."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    threading.Thread(target=accept, daemon=True).start()
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    stop.set()
    for conn in accepted:
        conn.close()
    server.close()


def test_a_stalled_broker_keeps_the_task_in_postgresql_without_hanging_the_caller(
    stalled_redis, caplog, settings, django_capture_on_commit_callbacks
):
    """The publish gives up after one socket timeout; the task waits in PostgreSQL, later ones do not wait
    for the broker at all, and beat publishes them all once it answers (core.outbox)."""
    calls.clear()
    app.conf.update(task_always_eager=False, broker_url=stalled_redis)
    reset_connection_pools()

    def hung(*_):
        raise TimeoutError("enqueue hung on a stalled Redis")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(30)  # a bound for the failure case only; the figure itself is a socket timeout setting
    try:
        with caplog.at_level("WARNING"), django_capture_on_commit_callbacks(execute=True):
            started = time.monotonic()
            enqueue(record, value=1)
        assert time.monotonic() - started < settings.REDIS_SOCKET_TIMEOUT + 1
        with django_capture_on_commit_callbacks(execute=True):
            started = time.monotonic()
            enqueue(record, value=2)
        assert time.monotonic() - started < 0.2  # the breaker is open: no second wait
        assert "kept in PostgreSQL" in caplog.text
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        app.conf.update(task_always_eager=True, broker_url=settings.CELERY_BROKER_URL)
        reset_connection_pools()
    assert [(task.name, task.kwargs) for task in PendingTask.objects.all()] == [
        ("tests.record", {"value": 1}),
        ("tests.record", {"value": 2}),
    ]
    assert calls == []
    assert publish_pending_tasks() == 2
    assert calls == [1, 2]
    assert not PendingTask.objects.exists()


def test_a_task_the_broker_refuses_stays_pending_and_the_rest_wait_behind_it(monkeypatch):
    PendingTask.objects.create(name="tests.record", kwargs={"value": 3})
    PendingTask.objects.create(name="tests.record", kwargs={"value": 4})
    PendingTask.objects.create(name="tests.renamed_since", kwargs={})

    def refuse(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(record, "apply_async", refuse)
    assert publish_pending_tasks() == 0
    first = PendingTask.objects.first()
    assert (first.attempts, first.last_error) == (
        1,
        "OperationalError: Error 111 connecting to 127.0.0.1:6379. Connection refused.",
    )
    monkeypatch.undo()
    reset_breakers()
    calls.clear()
    assert publish_pending_tasks() == 2
    assert calls == [3, 4]
    assert list(PendingTask.objects.values_list("name", flat=True)) == ["tests.renamed_since"]


def reset_connection_pools():
    """Celery caches its broker connections; a changed broker_url needs fresh ones."""
    app._pool = None
    app.amqp._producer_pool = None


def test_a_partner_task_runs_in_that_partners_scope_and_rejects_bad_ids(partner, other_partner, caplog):
    """Tasks take the partner's id and read through the scoped managers: another partner's rows are
    not there. Bad ids (strings, bools, missing) are a logged rejection, not an exception."""
    seen = []

    @partner_task
    def peek_customers(*, partner_id: int, customer_id: int | None = None) -> str:
        seen.append(sorted(Customer.objects.values_list("partner_id", flat=True).distinct()))
        return "done"

    with scopes_disabled():
        CustomerFactory(partner=partner)
        CustomerFactory(partner=other_partner)
    assert peek_customers(partner_id=partner.pk) == "done"
    assert seen == [[partner.pk]]
    assert peek_customers(partner_id=str(partner.pk)) == "rejected"
    assert peek_customers(partner_id=partner.pk, customer_id="1 or 1=1") == "rejected"
    assert peek_customers(partner_id=True) == "rejected"
    assert len(seen) == 1
    assert "peek_customers rejected" in caplog.text
