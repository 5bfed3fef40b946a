"""The processor's money rules (below Stripe's minimum, three-decimal currencies not ending in 0) are one
rule, asked by every way of billing: the invoice form, Add recurring payment, and the API's invoice
create and issue and recurring create, each refusing next to the field."""

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from invoicing.models import Invoice, InvoiceStatus, RecurringSchedule
from tests.api.conftest import Api, new_key
from tests.factories.invoicing import customer_for, make_invoice
from tests.factories.payments import connect_stripe
from tests.invoicing.test_recurring_pages import form_data as recurring_form

pytestmark = pytest.mark.django_db(transaction=True)

REFUSED = "Stripe can't charge less than 50 USD minor units"


@pytest.fixture
def on_stripe(settings, stripe_double, partner):
    settings.STRIPE_API_BASE = stripe_double.url
    connect_stripe(partner, stripe_double)
    return partner


def test_add_recurring_payment_refuses_an_amount_stripe_cannot_charge(on_stripe, owner_client):
    customer = customer_for(on_stripe)
    start = on_stripe.today().isoformat()
    response = owner_client.post(
        reverse("recurring_create"), recurring_form(customer=customer.pk, amount="0.40", start_date=start)
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert REFUSED.replace("'", "&#x27;") in page
    assert 'value="0.40"' in page  # what was typed is kept
    with scopes_disabled():
        assert not RecurringSchedule.objects.filter(partner=on_stripe).exists()
    response = owner_client.post(
        reverse("recurring_create"), recurring_form(customer=customer.pk, amount="0.50", start_date=start)
    )
    assert response.status_code == 302


def test_the_api_refuses_it_on_create_and_recurring_create_naming_the_field(on_stripe):
    api = Api(new_key(on_stripe))
    customer = customer_for(on_stripe)
    body = {"customer_id": customer.pk, "lines": [{"description": "x", "unit_price": 40}]}
    for path in ("/invoices", "/recurring_payments"):
        response = api.post(path, body)
        assert response.status_code == 422, (path, response.content)
        problem = response.json()
        assert response["Content-Type"].startswith("application/problem+json")
        assert [(e["field"], e["message"].startswith(REFUSED)) for e in problem["errors"]] == [
            ("lines", True)
        ]
    with scopes_disabled():
        assert not Invoice.objects.filter(partner=on_stripe).exists()
    body["lines"][0]["unit_price"] = 50
    assert api.post("/invoices", body).status_code == 201


def test_a_draft_saved_before_stripe_was_connected_is_refused_when_issued(settings, stripe_double, partner):
    customer = customer_for(partner)
    draft = make_invoice(partner, customer=customer, finalize=False, lines=[("Tiny", "1", 40, "0")])
    settings.STRIPE_API_BASE = stripe_double.url
    connect_stripe(partner, stripe_double)
    response = Api(new_key(partner)).post(f"/invoices/{draft.pk}/issue")
    assert response.status_code == 422, response.content
    assert response.json()["errors"][0]["field"] == "lines"
    with scopes_disabled():
        assert Invoice.objects.get(pk=draft.pk).status == InvoiceStatus.DRAFT


def test_three_decimal_currencies_are_refused_by_the_same_rule(on_stripe):
    api = Api(new_key(on_stripe))
    customer = customer_for(on_stripe)
    body = {
        "customer_id": customer.pk,
        "currency": "KWD",
        "lines": [{"description": "x", "unit_price": 1_005}],
    }
    response = api.post("/invoices", body)
    assert response.status_code == 422, response.content
    assert "multiples of 0.010" in response.json()["errors"][0]["message"]
