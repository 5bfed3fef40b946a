"""invoice.overdue: the hourly job announces each open invoice once, the first run after its due date
passes where the partner is; never again, never for a paid or draft invoice, never without a subscriber."""

import datetime

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from api.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from api.tasks import announce_overdue_invoices
from payments.services import payment_record_offline
from tests.factories.invoicing import make_invoice

pytestmark = pytest.mark.django_db


def _overdue_events():
    with scopes_disabled():
        return list(WebhookEvent.objects.filter(type="invoice.overdue").order_by("id"))


def test_the_job_is_on_the_hourly_beat_schedule():
    entry = settings.CELERY_BEAT_SCHEDULE["announce-overdue-invoices"]
    assert (entry["task"], entry["schedule"]) == ("api.tasks.announce_overdue_invoices", 3600.0)


def test_an_invoice_passing_its_due_date_is_announced_once(partner, other_partner):
    with scope(partner=partner):
        endpoint = WebhookEndpoint.objects.create(
            partner=partner, url="https://example.com/h", event_types=["invoice.overdue"]
        )
    due = make_invoice(partner, due_in_days=1)
    paid = make_invoice(partner, due_in_days=1)
    with scope(partner=partner):
        payment_record_offline(
            invoice=paid, amount=paid.total, method="cash", received_on=partner.today(), actor=None
        )
    make_invoice(partner, due_in_days=1, finalize=False)
    make_invoice(other_partner, due_in_days=1)  # its partner has no endpoint for it

    assert announce_overdue_invoices.delay().get() == 0  # due tomorrow: not overdue yet
    # The due date's end where the partner is (New York), then the first hourly run after it.
    end_of_due_day = datetime.datetime.combine(
        due.due_date + datetime.timedelta(days=1), datetime.time(0), tzinfo=partner.zone
    )
    with time_machine.travel(end_of_due_day - datetime.timedelta(minutes=1), tick=False):
        assert announce_overdue_invoices.delay().get() == 0
    with time_machine.travel(end_of_due_day + datetime.timedelta(minutes=5), tick=False):
        assert announce_overdue_invoices.delay().get() == 1
        assert announce_overdue_invoices.delay().get() == 0  # the next run: already announced
    with time_machine.travel(end_of_due_day + datetime.timedelta(days=3), tick=False):
        assert announce_overdue_invoices.delay().get() == 0
    (event,) = _overdue_events()
    assert event.object_id == due.pk
    assert event.payload["type"] == "invoice.overdue"
    assert (event.payload["data"]["id"], event.payload["data"]["overdue"]) == (due.pk, True)
    with scopes_disabled():
        assert list(WebhookDelivery.objects.values_list("endpoint_id", flat=True)) == [endpoint.pk]
    assert timezone.now() < end_of_due_day  # time travel ended


def test_without_a_subscribed_endpoint_nothing_is_written(partner):
    with scope(partner=partner):
        WebhookEndpoint.objects.create(
            partner=partner, url="https://example.com/h", event_types=["invoice.paid"]
        )
    make_invoice(partner, due_in_days=1)
    with time_machine.travel(timezone.now() + datetime.timedelta(days=3), tick=False):
        assert announce_overdue_invoices.delay().get() == 0
    assert _overdue_events() == []
