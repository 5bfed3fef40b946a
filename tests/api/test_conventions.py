"""What a developer expects: problems naming the field, nothing written on bad input, idempotent POSTs,
optimistic concurrency, stable cursors, integer amounts and UTC times."""

import pytest
from django.test import override_settings
from django_scopes import scopes_disabled

from api.models import IdempotentRequest
from customers.models import Customer
from invoicing.models import Invoice
from tests.factories.invoicing import customer_for

pytestmark = pytest.mark.django_db


def _customers():
    with scopes_disabled():
        return Customer.objects.count()


@pytest.mark.parametrize(
    ("raw", "status", "field"),
    [
        (b"{not json", 400, None),
        (b'{"name": "Ada", "email": "ada@example.com", "colour": "red"}', 422, "colour"),
        (b'{"name": 5, "email": "ada@example.com"}', 422, "name"),
        (b'{"name": "A\\u0000da", "email": "ada@example.com"}', 422, "name"),
        (b'{"name": "\\ud800", "email": "ada@example.com"}', 422, "name"),
        (b'{"email": "ada@example.com"}', 422, "name"),
        (b'{"name": "Ada", "email": "not an email"}', 422, "email"),
        (b"[]", 422, None),
    ],
)
def test_bad_bodies_are_problems_that_name_the_field_and_write_nothing(api, raw, status, field):
    response = api.post("/customers", raw=raw)
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status
    if field:
        assert field in [error["field"] for error in problem["errors"]]
    assert _customers() == 0


@override_settings(API_MAX_BODY_BYTES=1000)
def test_a_huge_body_is_refused_before_it_is_read(api):
    response = api.post("/customers", {"name": "A" * 2000, "email": "ada@example.com"})
    assert response.status_code == 413
    assert _customers() == 0


def test_a_failing_write_rolls_back_what_it_had_written(api, partner):
    customer = customer_for(partner)
    # A valid draft, then the service refuses the due date: the invoice must not exist afterwards.
    response = api.post(
        "/invoices",
        {
            "customer_id": customer.pk,
            "due_date": "2000-01-01",
            "lines": [{"description": "x", "unit_price": 100}],
        },
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "due_date"
    with scopes_disabled():
        assert not Invoice.objects.exists()


def test_the_same_idempotency_key_replays_the_first_answer(api):
    body = {"name": "Ada", "email": "ada@example.com"}
    first = api.post("/customers", body, headers={"Idempotency-Key": "k-1"})
    again = api.post("/customers", body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again["Idempotent-Replayed"] == "true"
    assert _customers() == 1
    other = api.post("/customers", {**body, "name": "Eve"}, headers={"Idempotency-Key": "k-1"})
    assert other.status_code == 409
    assert _customers() == 1


def test_a_failed_request_does_not_use_up_its_idempotency_key(api, partner):
    bad = api.post("/customers", {"name": "Ada", "email": "nope"}, headers={"Idempotency-Key": "k-2"})
    assert bad.status_code == 422
    with scopes_disabled():
        assert not IdempotentRequest.objects.exists()
    good = api.post(
        "/customers", {"name": "Ada", "email": "ada@example.com"}, headers={"Idempotency-Key": "k-2"}
    )
    assert good.status_code == 201


def test_an_update_with_a_stale_etag_is_refused(api, partner):
    customer_id = api.post("/customers", {"name": "Ada", "email": "ada@example.com"}).json()["id"]
    etag = api.get(f"/customers/{customer_id}")["ETag"]
    assert (
        api.patch(f"/customers/{customer_id}", {"company": "A"}, headers={"If-Match": etag}).status_code
        == 200
    )
    stale = api.patch(f"/customers/{customer_id}", {"company": "B"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert api.get(f"/customers/{customer_id}").json()["company"] == "A"


def test_customers_page_by_cursor_in_a_stable_order_and_a_bad_cursor_is_400(api, partner):
    for n in range(60):
        customer_for(partner, name=f"C{n:02}")
    first = api.get("/customers").json()
    second = api.get("/customers", {"cursor": first["next_cursor"]}).json()
    ids = [c["id"] for c in first["data"] + second["data"]]
    assert len(ids) == 60 == len(set(ids))
    assert ids == sorted(ids, reverse=True)
    assert second["next_cursor"] is None
    for bad in ("zzz", "WyJpZCIsIC0xXQ", "bnVsbA"):
        response = api.get("/customers", {"cursor": bad})
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "cursor"
    assert api.get("/invoices", {"cursor": "zzz"}).status_code == 400


def test_customers_search_and_archive(api, partner):
    ada = api.post("/customers", {"name": "Ada Lovelace", "email": "ada@example.com"}).json()
    api.post("/customers", {"name": "Grace Hopper", "email": "grace@example.com"})
    assert [c["name"] for c in api.get("/customers", {"q": "lovelace"}).json()["data"]] == ["Ada Lovelace"]
    assert api.post(f"/customers/{ada['id']}/archive").json()["archived"] is True
    assert [c["name"] for c in api.get("/customers").json()["data"]] == ["Grace Hopper"]
    assert len(api.get("/customers", {"include_archived": "true"}).json()["data"]) == 2
    duplicate = api.post("/customers", {"name": "Ada 2", "email": "ADA@example.com"})
    assert duplicate.status_code == 422
    assert duplicate.json()["errors"][0]["field"] == "email"


def test_amounts_are_integers_with_their_currency_and_times_are_utc(api, partner):
    customer = customer_for(partner)
    invoice = api.post(
        "/invoices",
        {
            "customer_id": customer.pk,
            "currency": "EUR",
            "lines": [{"description": "x", "quantity": "1.5", "unit_price": 1999}],
        },
    ).json()
    assert invoice["total"] == 2999
    assert invoice["currency"] == "EUR"
    assert invoice["lines"][0]["quantity"] == "1.5"
    assert invoice["created_at"].endswith("Z")
