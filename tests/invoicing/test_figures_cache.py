"""The dashboard's and the reports' figures come from the cache between changes, and never outlive one:
a saved invoice or payment, a new day where the partner is, or FIGURES_SECONDS."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from dashboard import figures
from reminders.models import EmailStatus, NotificationKind, OutboundEmail
from tests.factories.invoicing import make_invoice
from tests.invoicing.test_reports import _pay as pay

pytestmark = pytest.mark.django_db


def aggregates(client, name: str) -> tuple[str, list[str]]:
    """The page, and the queries that added up its invoices or payments."""
    with CaptureQueriesContext(connection) as captured:
        body = client.get(reverse(name)).content.decode()
    sums = [q["sql"] for q in captured.captured_queries if 'SUM("' in q["sql"]]
    return body, sums


@pytest.mark.parametrize("page", ["dashboard", "reports"])
def test_figures_are_added_up_once_until_something_changes(owner_client, partner, page):
    make_invoice(partner, lines=[("Audit", "1", 10_000, "0")])
    first, sums = aggregates(owner_client, page)
    assert sums
    assert "$100.00" in first
    again, sums = aggregates(owner_client, page)
    assert sums == []
    assert "$100.00" in again
    assert "as of" in again or "added up" in again  # the page says how fresh its figures are


def test_a_new_invoice_and_a_payment_show_at_once(owner_client, partner):
    invoice = make_invoice(partner, lines=[("Audit", "1", 10_000, "0")])
    assert "1 open invoice<" in owner_client.get(reverse("dashboard")).content.decode()
    make_invoice(partner, lines=[("Support", "1", 5_000, "0")])
    body = owner_client.get(reverse("dashboard")).content.decode()
    assert "2 open invoices" in body
    assert "$150.00" in body
    pay(invoice, timezone.now())
    body = owner_client.get(reverse("dashboard")).content.decode()
    assert "1 open invoice<" in body
    assert "1 invoice paid" in body


def test_a_bounce_shows_at_once(owner_client, partner):
    invoice = make_invoice(partner)
    assert "<strong>1</strong> email bounced" not in owner_client.get(reverse("dashboard")).content.decode()
    with scope(partner=partner):
        email = OutboundEmail.objects.create(
            partner=partner, invoice=invoice, kind=NotificationKind.INVOICE, to=["x@example.com"]
        )
        email.status = EmailStatus.BOUNCED
        email.save(update_fields=["status"])
    assert "<strong>1</strong> email bounced" in owner_client.get(reverse("dashboard")).content.decode()


def test_another_partners_change_keeps_the_figures(owner_client, partner, other_partner):
    make_invoice(partner)
    aggregates(owner_client, "dashboard")
    make_invoice(other_partner)
    assert aggregates(owner_client, "dashboard")[1] == []


def test_figures_are_added_up_again_on_a_new_day_and_after_the_time_limit(owner_client, partner):
    make_invoice(partner, due_in_days=1)
    now = datetime.datetime.now(tz=partner.zone).replace(hour=12)
    with time_machine.travel(now, tick=False):
        assert "0 invoices past due" in aggregates(owner_client, "dashboard")[0]
    with time_machine.travel(now + datetime.timedelta(minutes=1), tick=False):
        assert aggregates(owner_client, "dashboard")[1] == []
    with time_machine.travel(now + datetime.timedelta(days=2), tick=False):  # the day turned: overdue now
        body, sums = aggregates(owner_client, "dashboard")
    assert sums
    assert "1 invoice past due" in body
    later = now + datetime.timedelta(days=2, seconds=figures.FIGURES_SECONDS + 1)
    with time_machine.travel(later, tick=False):
        assert aggregates(owner_client, "dashboard")[1]


def test_an_unreachable_cache_still_shows_the_figures(owner_client, partner, monkeypatch):
    make_invoice(partner, lines=[("Audit", "1", 10_000, "0")])
    monkeypatch.setattr(figures.cache.breaker, "is_open", lambda: True)  # as after a Redis timeout
    for _ in range(2):
        body, sums = aggregates(owner_client, "dashboard")
        assert sums  # added up every time
        assert "$100.00" in body
