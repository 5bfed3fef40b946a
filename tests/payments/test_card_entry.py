"""Cards are entered in the processor's own fields: pages carry the processor's setup, the app gets only
a reference, the Content-Security-Policy lets the processor in on those pages only, and a card number
in any request to the app fails the test (tests/card_number_guard.py)."""

import re

import pytest
from django.test import Client
from django_scopes import scopes_disabled

from invoicing.models import InvoiceStatus
from payments.gateways.base import MethodSetup
from tests import card_number_guard
from tests.factories.invoicing import customer_for, make_invoice
from tests.factories.payments import connect_stripe
from tests.payments.test_pay_page import hidden, page_url, token_of

pytestmark = pytest.mark.django_db(transaction=True)


def data(body: str, name: str) -> str:
    return re.search(rf'data-{name}="([^"]*)"', body).group(1)


@pytest.fixture
def stripe_partner(settings, stripe_double, partner):
    settings.STRIPE_API_BASE = stripe_double.url
    settings.STRIPE_JS_URL = stripe_double.js_url
    connect_stripe(partner, stripe_double)
    return partner


def test_the_sandbox_page_takes_the_card_in_its_own_script(partner):
    token = token_of(make_invoice(partner, customer=customer_for(partner)).fresh_pay_url)
    response = Client().get(page_url(token))
    body = response.content.decode()
    assert 'data-processor="sandbox"' in body
    assert "js/card-entry.js" in body
    assert 'name="card_number"' not in body
    assert "stripe" not in response["Content-Security-Policy"]


def test_a_stripe_page_lets_stripe_in_on_that_page_only(stripe_partner, stripe_double, owner_client):
    invoice = make_invoice(stripe_partner, customer=customer_for(stripe_partner))
    token = token_of(invoice.fresh_pay_url)
    response = Client().get(page_url(token))
    body = response.content.decode()
    assert data(body, "processor") == "stripe"
    assert data(body, "publishable-key").startswith("pk_test_")
    assert data(body, "client-secret").startswith("seti_")
    assert f'<script src="{stripe_double.js_url}" defer>' in body
    policy = response["Content-Security-Policy"]
    assert f"script-src 'self' {stripe_double.url}" in policy
    assert stripe_double.url in policy.split("connect-src", 1)[1].split(";")[0]
    assert "https://hooks.stripe.com" in policy.split("frame-src", 1)[1].split(";")[0]
    assert stripe_double.url not in owner_client.get("/invoices/")["Content-Security-Policy"]


def test_paying_with_stripe_sends_only_the_setup_intent(stripe_partner, stripe_double, owner_client):
    invoice = make_invoice(stripe_partner, customer=customer_for(stripe_partner))
    token = token_of(invoice.fresh_pay_url)
    client = Client()
    body = client.get(page_url(token)).content.decode()
    setup = MethodSetup(
        "stripe",
        data(body, "publishable-key"),
        data(body, "client-secret"),
        data(body, "client-secret").split("_secret_")[0],
    )
    stripe_double.confirm_setup(setup, "4242424242424242")  # Stripe.js, in the browser
    form = {
        "kind": "card",
        "name": "Ada",
        "method_reference": setup.reference,
        "idempotency_key": hidden(body, "idempotency_key"),
    }
    assert client.post(page_url(token, "pay_new"), form).status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    with scopes_disabled():
        method = invoice.customer.payment_methods.get()
    assert (method.gateway, method.brand, method.last4) == ("stripe", "Visa", "4242")
    with scopes_disabled():
        payment = invoice.payments.get()
    assert (payment.processor_fee, payment.net) == (
        0,
        payment.amount,
    )  # the fee Stripe reports: the double's 0
    assert "(fee $0.00, net $" in owner_client.get(f"/invoices/{invoice.pk}/").content.decode()
    assert method.gateway_token.startswith("cus_")
    assert "/pm_" in method.gateway_token


def test_a_card_number_reaching_the_app_fails_the_test(partner):
    start = len(card_number_guard.seen)
    client = Client()
    try:
        for body in ({"note": "4242 4242 4242 4242"}, {"n": "4000-0025-0000-3155"}, {"n": "378282246310005"}):
            with pytest.raises(AssertionError, match="a card number"):
                client.post("/login/", body)
        # Not card numbers: ids, digests and keys mix letters in; short or Luhn-invalid runs are fine.
        for body in (
            {"r": "seti_4242424242424242"},
            {"k": "4242424242424241"},
            {"p": "000123456789"},
            {"u": "00000000-0000-0000-0000-000000000000"},
        ):
            client.post("/login/", body)
        assert len(card_number_guard.seen) == start + 3
    finally:
        del card_number_guard.seen[start:]
