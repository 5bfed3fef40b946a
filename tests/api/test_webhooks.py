"""Outbound webhooks: signed as Standard Webhooks says, written with the change (or not at all),
delivered at least once with backoff, disabled after days of failures, never sent to internal addresses."""

import datetime
import itertools
import json
import multiprocessing
import os
import signal
import time

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connections, transaction
from django.test import override_settings
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from standardwebhooks.webhooks import Webhook

from api.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent
from api.services import webhook_endpoint_create, webhook_endpoint_roll_secret
from api.webhooks.delivery import LEASE, MAX_TRIES, RETRY_SCHEDULE, webhook_deliver, webhooks_deliver_due
from customers.services import customer_create
from tests.api.receiver import Receiver
from tests.factories.invoicing import customer_for


def local_targets(func=None):
    """Local test receivers are allowed (as in development); production refuses them."""
    settings = override_settings(WEBHOOK_ALLOW_PRIVATE_TARGETS=True, WEBHOOK_REQUIRE_HTTPS=False)
    return settings(func) if func else settings


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def _endpoint(partner, url, types=("customer.created",)) -> WebhookEndpoint:
    with scope(partner=partner), local_targets():
        return webhook_endpoint_create(partner=partner, url=url, event_types=list(types))


def _deliveries():
    with scopes_disabled():
        return list(WebhookDelivery.objects.select_related("endpoint").order_by("id"))


@pytest.mark.django_db
@local_targets
def test_a_receiver_verifies_the_signature_with_standardwebhooks(
    api, partner, receiver, django_capture_on_commit_callbacks
):
    endpoint = _endpoint(partner, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post("/customers", {"name": "Ada", "email": "ada@example.com"})
    assert created.status_code == 201
    assert len(receiver.received) == 1
    headers, body = receiver.received[0]
    payload = Webhook(endpoint.secret).verify(body, headers)
    assert payload["type"] == "customer.created"
    assert payload["data"]["email"] == "ada@example.com"
    assert payload["id"] == headers["webhook-id"]
    with pytest.raises(Exception, match="signature"):
        Webhook(endpoint.secret).verify(body.replace(b"Ada", b"Eve"), headers)
    assert _deliveries()[0].status == DeliveryStatus.SUCCEEDED


@pytest.mark.django_db
@local_targets
def test_a_rolled_secret_still_verifies_for_a_day(partner, receiver):
    endpoint = _endpoint(partner, receiver.url)
    old_secret = endpoint.secret
    with scope(partner=partner):
        endpoint = webhook_endpoint_roll_secret(endpoint=endpoint)
        customer_create(partner=partner, data={"name": "Ada", "email": "ada@example.com"})
        webhook_deliver(delivery_id=_deliveries()[0].pk)
    headers, body = receiver.received[0]
    Webhook(old_secret).verify(body, headers)
    Webhook(endpoint.secret).verify(body, headers)


@pytest.mark.django_db
def test_a_change_that_rolls_back_emits_nothing(partner, api):
    _endpoint(partner, "http://127.0.0.1:9/hooks", types=("customer.created", "invoice.created"))

    def create_then_fail():
        with transaction.atomic():
            customer_create(partner=partner, data={"name": "Ada", "email": "ada@example.com"})
            raise RuntimeError("rolled back")

    with scope(partner=partner), pytest.raises(RuntimeError):
        create_then_fail()
    customer = customer_for(partner)
    refused = api.post(
        "/invoices",
        {
            "customer_id": customer.pk,
            "due_date": "2001-01-01",
            "lines": [{"description": "x", "unit_price": 5}],
        },
    )
    assert refused.status_code == 422
    with scopes_disabled():
        assert not WebhookEvent.objects.exists()
        assert not WebhookDelivery.objects.exists()


@pytest.mark.django_db
@local_targets
def test_a_failing_endpoint_is_retried_on_schedule_then_disabled_and_the_partner_told(
    partner, django_capture_on_commit_callbacks
):
    failing = Receiver(status=500)
    try:
        endpoint = _endpoint(partner, failing.url)
        with scope(partner=partner):
            customer_create(partner=partner, data={"name": "Ada", "email": "ada@example.com"})
        start = timezone.now()
        tries_at = []
        with time_machine.travel(start, tick=False) as clock:
            for _ in range(MAX_TRIES + 3):
                with django_capture_on_commit_callbacks(execute=True):
                    sent = webhooks_deliver_due(now=timezone.now())
                if sent:
                    tries_at.append(timezone.now())
                delivery = _deliveries()[0]
                if delivery.status != DeliveryStatus.PENDING:
                    break
                clock.move_to(delivery.next_attempt_at + datetime.timedelta(seconds=1))
        waits = [round((b - a).total_seconds()) - 1 for a, b in itertools.pairwise(tries_at)]
        assert waits == RETRY_SCHEDULE
        assert len(failing.received) == MAX_TRIES
        assert 2.5 < (tries_at[-1] - tries_at[0]).total_seconds() / 86400 < 3.5
        delivery = _deliveries()[0]
        assert delivery.status == DeliveryStatus.FAILED
        with scopes_disabled():
            endpoint.refresh_from_db()
            assert delivery.tries.count() == MAX_TRIES
            assert delivery.tries.first().status_code == 500
        assert endpoint.disabled_at is not None
        assert [m.subject for m in mail.outbox] == [f"Webhook endpoint disabled: {endpoint.url}"]
    finally:
        failing.close()


@pytest.mark.django_db
def test_a_private_address_is_refused_at_save_and_at_delivery(partner, api, receiver):
    for url in (
        "https://127.0.0.1/h",
        "https://10.1.2.3/h",
        "https://169.254.169.254/latest",
        "https://[::1]/h",
        "https://localhost/h",
        "http://example.com/h",
    ):
        with scope(partner=partner), pytest.raises(ValidationError) as refused:
            webhook_endpoint_create(partner=partner, url=url, event_types=["customer.created"])
        assert "url" in refused.value.message_dict
    response = api.post(
        "/webhook_endpoints", {"url": "https://192.168.0.1/h", "event_types": ["invoice.paid"]}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "url"
    endpoint = _endpoint(partner, receiver.url)  # saved while local targets were allowed (development)
    with scope(partner=partner), override_settings(WEBHOOK_REQUIRE_HTTPS=False):
        customer_create(partner=partner, data={"name": "Ada", "email": "ada@example.com"})
        webhook_deliver(delivery_id=_deliveries()[0].pk)
    assert receiver.received == []
    with scopes_disabled():
        assert "private" in WebhookDelivery.objects.get().tries.get().error
    assert endpoint.pk


def _deliver_in_child(delivery_id: int, partner_id: int) -> None:
    with scope(partner=partner_id):
        webhook_deliver(delivery_id=delivery_id)
    os._exit(0)


@pytest.mark.django_db(transaction=True)
@local_targets
def test_a_worker_killed_mid_delivery_is_delivered_by_the_sweep(partner):
    stalling = Receiver(stall_first=30)
    try:
        _endpoint(partner, stalling.url)
        with scope(partner=partner):
            customer_create(partner=partner, data={"name": "Ada", "email": "ada@example.com"})
        delivery = _deliveries()[0]
        connections.close_all()  # the child opens its own
        child = multiprocessing.get_context("fork").Process(
            target=_deliver_in_child, args=(delivery.pk, partner.pk)
        )
        child.start()
        deadline = time.monotonic() + 20
        while not stalling.received and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stalling.received, "the worker never sent"
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        assert webhooks_deliver_due(now=timezone.now()) == 0  # its lease still holds
        later = timezone.now() + LEASE + datetime.timedelta(seconds=1)
        with time_machine.travel(later, tick=False):
            assert webhooks_deliver_due(now=timezone.now()) == 1
        assert _deliveries()[0].status == DeliveryStatus.SUCCEEDED
        assert len(stalling.received) == 2
        first, second = (json.loads(body)["id"] for _, body in stalling.received)
        assert first == second  # the same webhook-id: the receiver can drop the duplicate
    finally:
        stalling.close()
