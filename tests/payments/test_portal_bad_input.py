"""Hand-edited requests to the pay page and the account portal: odd ids, huge numbers, garbage POSTs."""

import pytest
from django.test import Client
from django.urls import reverse

from reminders.tasks import email_pay_link
from tests.factories.invoicing import make_invoice
from tests.factories.payments import card_for
from tests.payments.test_pay_page import customer, invoice, page_url, token  # noqa: F401
from tests.payments.test_portal_account import alice, pay_form, sign_in, url  # noqa: F401

HUGE = 10**20


@pytest.mark.django_db
def test_odd_ids_and_garbage_in_the_account_portal_never_give_a_500(partner, alice, sign_in):  # noqa: F811
    card_for(alice)
    make_invoice(partner, customer=alice, lines=[("One", "1", 10_000, "0")])
    client = sign_in(partner, alice)
    payments = url(partner, "portal_payments")
    for query in ("?key=x&invoices=²", "?invoices=١٢", f"?invoices={HUGE}", "?invoices=,,a,-1"):
        assert client.get(payments + query).status_code == 200, query
    pay = url(partner, "portal_pay")
    form = pay_form(client, partner)
    for bad in (
        {},
        {"currency": "USD"},
        form | {"invoices": ["²"]},
        form | {"invoices": [str(HUGE)]},
        form | {"method": str(HUGE)},
        form | {"method": "abc"},
        form | {"currency": "XXXX"},
        form | {"idempotency_key": "x" * 500},
    ):
        assert client.post(pay, bad).status_code in (302, 400), bad
    assert client.get(url(partner, "portal_invoice_pdf", invoice_id=HUGE)).status_code == 404
    for name in ("portal_method_default", "portal_method_remove"):
        assert client.post(url(partner, name, payment_method_id=HUGE)).status_code == 404
    assert client.post(url(partner, "portal_autopay"), {"enabled": "garbage"}).status_code == 302
    assert client.post(url(partner, "portal_methods"), {"kind": "zzz"}).status_code == 400
    assert client.post(url(partner, "portal_details"), {"name": ""}).status_code == 400


@pytest.mark.django_db
def test_odd_partner_ids_and_tokens_are_404s():
    client = Client()
    assert client.get(reverse("portal_sign_in", kwargs={"partner_slug": str(HUGE)})).status_code == 404
    assert client.get("/pay/" + "a" * 5000 + "/account/sign-in/").status_code == 404
    assert client.get("/pay/" + "a" * 5000 + "/").status_code == 404
    assert client.post("/pay/" + "a" * 5000 + "/", {"email": "x" * 300}).status_code == 404
    assert client.post(reverse("pay_lookup"), {"number": "x" * 500, "email": "bad"}).status_code == 200


@pytest.mark.django_db
def test_odd_input_on_the_pay_page_never_gives_a_500(client, invoice, token):  # noqa: F811
    key = "a" * 32
    for data in (
        {},
        {"method": str(HUGE), "idempotency_key": key},
        {"method": "-1", "idempotency_key": key},
        {"method": "x", "idempotency_key": "zz"},
    ):
        assert client.post(page_url(token, "pay_confirm"), data).status_code in (400, 409), data
    for data in (
        {},
        {"kind": "zzz"},
        {"kind": "bank_account", "idempotency_key": key, "routing_number": "²" * 9},
        {"idempotency_key": key, "name": "A", "method_reference": "card:٤٢٤٢:99:9999"},
        {"idempotency_key": key, "name": "A", "method_reference": "card:" + "f" * 64 + ":1:2099"},
    ):
        assert client.post(page_url(token, "pay_new"), data).status_code == 400, data
    for query in ("?attempt=" + "x" * 5000, "?kind=zzz", "?kind[]=1"):
        assert client.get(page_url(token, "pay_result") + query).status_code in (200, 302), query
        assert client.get(page_url(token) + query).status_code == 200, query


@pytest.mark.django_db
def test_the_pay_link_email_task_rejects_bad_arguments_and_logs(caplog, partner):
    assert email_pay_link(partner_id=partner.pk, invoice_id="1; drop table") == "rejected"
    assert email_pay_link(partner_id="1", invoice_id=1) == "rejected"
    assert email_pay_link(partner_id=partner.pk, invoice_id=999_999_999) == "rejected"
    assert "email_pay_link rejected" in caplog.text
