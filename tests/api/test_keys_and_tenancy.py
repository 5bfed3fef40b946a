"""Keys: every request runs as the key's partner; another partner's ids are not found, a read-only key
writes nothing, a revoked key is refused at once, and a busy key is slowed down with 429."""

import re

import pytest
from django.test import override_settings
from django_scopes import scope, scopes_disabled

from api.models import ApiKey, WebhookDelivery, WebhookEndpoint, WebhookEvent
from api.services import api_key_revoke
from api.v1 import api as ninja_api
from customers.models import Customer
from payments.services import payment_record_offline
from tests.api.conftest import Api, new_key
from tests.factories.invoicing import customer_for, make_invoice
from tests.factories.payments import card_for
from tests.factories.recurring import make_schedule

pytestmark = pytest.mark.django_db

WRITES = {"post", "patch", "put", "delete"}


def operations():
    schema = ninja_api.get_openapi_schema()
    return [
        (method, path) for path, item in schema["paths"].items() for method in item if method != "parameters"
    ]


def _objects_of(partner):
    """One of each object the routes name, belonging to `partner`."""
    customer = customer_for(partner)
    method = card_for(customer)
    invoice = make_invoice(partner, customer=customer)
    with scope(partner=partner):
        payment = payment_record_offline(
            invoice=invoice, amount=100, method="check", received_on=partner.today(), actor=None
        )
        from payments.models import Refund

        refund = Refund.objects.create(
            partner=partner,
            payment=payment,
            invoice=invoice,
            amount=50,
            currency=invoice.currency,
            reason="x",
        )
        endpoint = WebhookEndpoint.objects.create(
            partner=partner, url="https://example.com/h", event_types=["invoice.paid"]
        )
        event = WebhookEvent.objects.create(
            partner=partner, type="invoice.paid", object_id=invoice.pk, payload={}
        )
        delivery = WebhookDelivery.objects.create(partner=partner, event=event, endpoint=endpoint)
    schedule = make_schedule(partner, start_date=partner.today(), customer=customer)
    return {
        "customer_id": customer.pk,
        "payment_method_id": method.pk,
        "invoice_id": invoice.pk,
        "payment_id": payment.pk,
        "refund_id": refund.pk,
        "endpoint_id": endpoint.pk,
        "delivery_id": delivery.pk,
        "recurring_payment_id": schedule.pk,
    }


BODIES = {
    ("post", "/api/v1/customers"): None,  # no id in the path: nothing to find
    ("patch", "/api/v1/customers/{customer_id}"): {"name": "Mallory"},
    ("post", "/api/v1/invoices/{invoice_id}/payments"): {"amount": 100, "method": "cash"},
    ("post", "/api/v1/invoices/{invoice_id}/credit_notes"): {"amount": 100, "reason": "x"},
    ("post", "/api/v1/payments/{payment_id}/refunds"): {"amount": 10, "reason": "x"},
    ("patch", "/api/v1/invoices/{invoice_id}"): {"memo": "x"},
    ("patch", "/api/v1/webhook_endpoints/{endpoint_id}"): {"description": "x"},
    ("post", "/api/v1/recurring_payments"): None,
    ("patch", "/api/v1/recurring_payments/{recurring_payment_id}"): {"memo": "x"},
}


def test_every_route_with_another_partners_ids_is_not_found(partner, other_partner, monkeypatch):
    ids = _objects_of(partner)
    intruder = Api(new_key(other_partner))
    checked = 0
    for method, path in operations():
        if "{" not in path:
            continue
        url = re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), path).removeprefix("/api/v1")
        body = BODIES.get((method, path), {})
        response = intruder.send(method.upper(), url, body) if method in WRITES else intruder.get(url)
        assert response.status_code == 404, (method, path, response.status_code, response.content[:200])
        assert response["Content-Type"] == "application/problem+json"
        checked += 1
    assert checked >= 30
    with scopes_disabled():
        assert Customer.objects.get(pk=ids["customer_id"]).name != "Mallory"


def test_a_read_only_key_can_read_but_every_write_is_forbidden(partner, read_api):
    ids = _objects_of(partner)
    for method, path in operations():
        url = re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), path).removeprefix("/api/v1")
        if method in WRITES:
            response = read_api.send(method.upper(), url, BODIES.get((method, path)) or {})
            assert response.status_code == 403, (method, path)
            assert "read-only" in response.json()["detail"]
    assert read_api.get(f"/customers/{ids['customer_id']}").status_code == 200


def test_no_key_a_wrong_key_and_a_revoked_key_are_refused(partner):
    secret = new_key(partner)
    assert Api(secret).get("/customers").status_code == 200
    for wrong in (None, "inv_test_nope_nope", secret + "x", secret.replace("inv_test_", "inv_live_")):
        response = Api(wrong).get("/customers")
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Bearer")
    with scopes_disabled():
        key = ApiKey.objects.get()
    api_key_revoke(key=key)
    assert Api(secret).get("/customers").status_code == 401


def test_the_key_records_when_it_was_last_used(partner):
    secret = new_key(partner)
    Api(secret).get("/customers")
    with scopes_disabled():
        assert ApiKey.objects.get().last_used_at is not None
        assert not ApiKey.objects.filter(secret_hash__contains=secret).exists()
        assert secret not in str(ApiKey.objects.values().get())


@override_settings(API_RATE_LIMIT="3/60")
def test_a_key_over_its_rate_limit_gets_429_with_retry_after(partner, other_partner):
    client = Api(new_key(partner))
    assert [client.get("/customers").status_code for _ in range(3)] == [200, 200, 200]
    response = client.get("/customers")
    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    assert Api(new_key(other_partner)).get("/customers").status_code == 200  # per key


def test_the_developers_page_shows_a_new_key_once_and_revokes_it(owner_client, partner):
    response = owner_client.post("/settings/developers/keys/", {"name": "HaloPSA", "scope": "read"})
    assert response.status_code == 200
    secret = re.search(r"inv_test_[\w-]+", response.content.decode()).group(0)
    assert Api(secret).get("/customers").status_code == 200
    listing = owner_client.get("/settings/developers/").content.decode()
    assert "HaloPSA" in listing
    assert secret not in listing
    with scopes_disabled():
        key = ApiKey.objects.get()
    owner_client.post(f"/settings/developers/keys/{key.pk}/revoke/")
    assert Api(secret).get("/customers").status_code == 401


def test_the_developers_page_is_for_owners_and_admins_of_that_partner(partner, other_owner):
    from partners.models import Role
    from tests.conftest import client_for, member_of

    member = client_for(member_of(partner, Role.MEMBER).user)
    assert member.get("/settings/developers/").status_code == 403
    key = ApiKey.objects.create(partner=partner, name="k", prefix="inv_test_", lookup="abc", secret_hash="x")
    other = client_for(other_owner)
    assert other.post(f"/settings/developers/keys/{key.pk}/revoke/").status_code == 404
