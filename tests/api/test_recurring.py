"""Recurring payments through the API: the recurring pages' services and rules, amounts in minor units,
idempotent creation, If-Match on updates, cursors, and recurring_invoice.issued when the job issues."""

import datetime

import pytest
from django_scopes import scope, scopes_disabled

from api.models import WebhookEndpoint, WebhookEvent
from customers.services import customer_archive
from invoicing.jobs import recurring_issue_due
from invoicing.models import Invoice, RecurringSchedule, RecurringStatus
from tests.factories.invoicing import customer_for
from tests.factories.payments import card_for
from tests.factories.recurring import make_schedule

pytestmark = pytest.mark.django_db


def _schedules():
    with scopes_disabled():
        return list(RecurringSchedule.objects.order_by("id"))


def _body(customer, **fields):
    return {
        "customer_id": customer.pk,
        "lines": [{"description": "Managed services", "quantity": "2", "unit_price": 12_550}],
        **fields,
    }


def test_create_bills_in_minor_units_on_the_series_dates_and_replays_its_idempotency_key(api, partner):
    customer = customer_for(partner)
    start = partner.today() + datetime.timedelta(days=3)
    body = _body(customer, frequency="monthly", anchor_day=31, start_date=start.isoformat(), memo="Thanks")
    first = api.post("/recurring_payments", body, headers={"Idempotency-Key": "r-1"})
    assert first.status_code == 201, first.content
    again = api.post("/recurring_payments", body, headers={"Idempotency-Key": "r-1"})
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    schedule = first.json()
    assert schedule["object"] == "recurring_payment"
    assert (schedule["status"], schedule["total"], schedule["currency"]) == ("active", 25_100, "USD")
    assert schedule["lines"][0] == {
        "description": "Managed services",
        "quantity": "2",
        "unit_price": 12_550,
        "tax_rate": "0",
    }
    assert schedule["anchor_day"] == 31
    assert schedule["next_issue_date"] == schedule["upcoming_dates"][0] >= start.isoformat()
    assert len(schedule["upcoming_dates"]) == 6
    assert schedule["days_until_due"] == partner.payment_terms_days
    assert first["ETag"]
    (stored,) = _schedules()
    assert (stored.customer_id, stored.memo, stored.anchor_day) == (customer.pk, "Thanks", 31)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"frequency": "every_n_weeks", "interval": 53}, "interval"),
        ({"frequency": "every_n_months", "interval": 25}, "interval"),
        ({"anchor_day": 32}, "anchor_day"),
        ({"end_mode": "after_count"}, "end_count"),
        ({"end_mode": "after_count", "end_count": 1001}, "end_count"),
        ({"end_mode": "on_date", "end_date": "2000-01-01"}, "end_date"),
        ({"start_date": "2000-01-01"}, "start_date"),
        ({"start_date": "9999-12-31"}, "start_date"),
        ({"days_until_due": 366}, "days_until_due"),
        ({"days_until_due": -1}, "days_until_due"),
        ({"lines": [{"description": "Free", "unit_price": 0}]}, "lines"),
        ({"payment_method_id": 999_999}, "payment_method_id"),
        ({"customer_id": 999_999}, "customer_id"),
        ({"frequency": "fortnightly"}, "frequency"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_the_services_rules_are_422s_naming_the_field_and_nothing_is_written(api, partner, fields, field):
    response = api.post("/recurring_payments", {**_body(customer_for(partner)), **fields})
    assert response.status_code == 422, response.content
    assert field in [error["field"] for error in response.json()["errors"]]
    assert _schedules() == []


def test_an_archived_or_foreign_customer_cannot_be_billed(api, partner, other_partner):
    archived = customer_for(partner)
    with scope(partner=partner):
        customer_archive(customer=archived)
    for customer in (archived, customer_for(other_partner)):
        response = api.post("/recurring_payments", _body(customer))
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "customer_id"
    assert _schedules() == []


def test_charge_method_on_file_needs_one_of_the_customers_methods(api, partner):
    customer = customer_for(partner)
    card = card_for(customer)
    refused = api.post("/recurring_payments", _body(customer, payment_option="charge_method_on_file"))
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "payment_method_id"
    chosen = api.post(
        "/recurring_payments",
        _body(customer, payment_option="charge_method_on_file", payment_method_id=card.pk),
    )
    assert chosen.status_code == 201
    assert chosen.json()["payment_method_id"] == card.pk


def test_autopay_customers_default_to_charge_on_due_date_as_the_form_does(api, partner):
    customer = customer_for(partner, autopay=True)
    card_for(customer)
    assert api.post("/recurring_payments", _body(customer)).json()["payment_option"] == "charge_on_due_date"
    invoice = api.post("/invoices", _body(customer)).json()
    assert invoice["payment_option"] == "charge_on_due_date"
    plain = customer_for(partner)
    assert api.post("/recurring_payments", _body(plain)).json()["payment_option"] == "charge_later"


def test_update_changes_what_future_invoices_bill_with_if_match(api, partner):
    schedule = make_schedule(partner, start_date=partner.today() + datetime.timedelta(days=5))
    read = api.get(f"/recurring_payments/{schedule.pk}")
    etag, before = read["ETag"], read.json()
    changed = api.patch(
        f"/recurring_payments/{schedule.pk}",
        {"memo": "New memo", "lines": [{"description": "Backup", "unit_price": 4_000, "tax_rate": "10"}]},
        headers={"If-Match": etag},
    )
    assert changed.status_code == 200, changed.content
    after = changed.json()
    assert (after["memo"], after["total"], after["tax_total"]) == ("New memo", 4_400, 400)
    assert after["upcoming_dates"] == before["upcoming_dates"]  # the timing was not touched
    stale = api.patch(f"/recurring_payments/{schedule.pk}", {"memo": "Lost"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert api.get(f"/recurring_payments/{schedule.pk}").json()["memo"] == "New memo"


def test_changing_the_next_date_restarts_the_series_there(api, partner):
    schedule = make_schedule(partner, start_date=partner.today() + datetime.timedelta(days=5))
    later = partner.today() + datetime.timedelta(days=40)
    moved = api.patch(
        f"/recurring_payments/{schedule.pk}", {"start_date": later.isoformat(), "frequency": "weekly"}
    ).json()
    assert moved["next_issue_date"] == later.isoformat()
    assert moved["upcoming_dates"][1] == (later + datetime.timedelta(weeks=1)).isoformat()
    assert moved["anchor_day"] is None


def test_nulls_bad_values_and_ended_schedules_are_refused(api, partner):
    schedule = make_schedule(partner, start_date=partner.today() + datetime.timedelta(days=5))
    url = f"/recurring_payments/{schedule.pk}"
    nulled = api.patch(url, {"frequency": None, "memo": None})
    assert nulled.status_code == 422
    assert {e["field"] for e in nulled.json()["errors"]} == {"frequency", "memo"}
    assert api.patch(url, {"days_until_due": 400}).json()["errors"][0]["field"] == "days_until_due"
    assert api.post(f"{url}/cancel").json()["status"] == "cancelled"
    refused = api.patch(url, {"memo": "x"})
    assert refused.status_code == 409
    assert "cancelled" in refused.json()["detail"]
    with scopes_disabled():
        schedule.refresh_from_db()
    assert (schedule.status, schedule.memo) == (RecurringStatus.CANCELLED, "")


def test_pause_resume_and_cancel_as_the_pages_do(api, partner):
    schedule = make_schedule(partner, start_date=partner.today() + datetime.timedelta(days=5))
    url = f"/recurring_payments/{schedule.pk}"
    assert api.post(f"{url}/resume").status_code == 409  # only a paused one resumes
    paused = api.post(f"{url}/pause")
    assert paused.status_code == 200
    assert paused.json()["status"] == "paused"
    again = api.post(f"{url}/pause")
    assert again.status_code == 409
    assert again.json()["detail"] == "Only an active recurring payment can be paused."
    assert api.post(f"{url}/resume").json()["status"] == "active"
    cancelled = api.post(f"{url}/cancel").json()
    assert (cancelled["status"], cancelled["next_issue_date"], cancelled["upcoming_dates"]) == (
        "cancelled",
        None,
        [],
    )
    assert api.post(f"{url}/cancel").status_code == 409
    assert api.post(f"{url}/pause").status_code == 409


def test_the_list_filters_by_tab_and_customer_and_pages_by_cursor(api, partner):
    ada = customer_for(partner)
    start = partner.today() + datetime.timedelta(days=1)
    made = [make_schedule(partner, start_date=start, customer=ada) for _ in range(52)]
    other = make_schedule(partner, start_date=start)
    with scope(partner=partner):
        from invoicing.recurring import recurring_pause

        recurring_pause(schedule=made[0], actor=None)
    first = api.get("/recurring_payments").json()
    second = api.get("/recurring_payments", {"cursor": first["next_cursor"]}).json()
    ids = [s["id"] for s in first["data"] + second["data"]]
    assert ids == sorted({s.pk for s in [*made, other]}, reverse=True)
    assert second["next_cursor"] is None
    assert [s["id"] for s in api.get("/recurring_payments", {"status": "paused"}).json()["data"]] == [
        made[0].pk
    ]
    by_customer = api.get("/recurring_payments", {"customer_id": other.customer_id}).json()["data"]
    assert [s["id"] for s in by_customer] == [other.pk]
    assert api.get("/recurring_payments", {"cursor": "zzz"}).status_code == 400
    assert api.get("/recurring_payments", {"status": "gone"}).status_code == 422


def test_the_job_issuing_a_period_sends_recurring_invoice_issued(api, partner):
    with scope(partner=partner):
        WebhookEndpoint.objects.create(
            partner=partner, url="https://example.com/h", event_types=["recurring_invoice.issued"]
        )
    created = api.post("/recurring_payments", _body(customer_for(partner))).json()  # starts today
    recurring_issue_due()
    with scopes_disabled():
        invoice = Invoice.objects.get()
        (event,) = WebhookEvent.objects.filter(type="recurring_invoice.issued")
    data = event.payload["data"]
    assert data["recurring_payment_id"] == created["id"]
    assert (data["invoice"]["id"], data["invoice"]["total"], data["invoice"]["status"]) == (
        invoice.pk,
        25_100,
        "open",
    )
    after = api.get(f"/recurring_payments/{created['id']}").json()
    assert after["invoices_issued"] == 1
    assert after["next_issue_date"] > created["next_issue_date"]
    recurring_issue_due()  # the same period is never issued twice
    with scopes_disabled():
        assert WebhookEvent.objects.filter(type="recurring_invoice.issued").count() == 1
