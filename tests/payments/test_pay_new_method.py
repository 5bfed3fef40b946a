"""Paying on the hosted invoice page with a card or bank account typed there, in one form: saved or not,
Auto-Pay, bank debits that show "processing" until they settle, errors beside their fields."""

import datetime
import logging

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from customers.models import Customer, PaymentMethod
from invoicing.models import InvoiceStatus
from payments.gateways import get_gateway
from payments.gateways.sandbox.models import SandboxCharge
from payments.models import AttemptTrigger, PaymentAttempt
from payments.services import charge_invoice, webhook_receive
from tests.factories.invoicing import customer_for, make_invoice
from tests.factories.payments import DECLINED_CARD, GOOD_ACCOUNT, GOOD_CARD, card_for, card_reference
from tests.payments.test_pay_page import LINES, hidden, page_url, refreshed, token_of

CARD = {"kind": "card", "name": "Alice Jones", "method_reference": card_reference(GOOD_CARD, 12, 2034)}


@pytest.fixture
def customer(partner):
    return customer_for(partner, name="Alice Jones", company="Acme Corp", email="alice@acme.example")


@pytest.fixture
def invoice(partner, customer):
    return make_invoice(partner, customer=customer, lines=LINES)


@pytest.fixture
def token(invoice):
    return token_of(invoice.fresh_pay_url)


def pay_form(client, token, kind="card", **fields) -> dict:
    """The fields of the page's one payment form, as drawn (with its key), plus what the customer types."""
    body = client.get(page_url(token) + f"?kind={kind}").content.decode()
    assert 'action="' + page_url(token, "pay_new") + '"' in body
    base = CARD if kind == "card" else {"kind": kind}
    if "number" in fields:  # what the page's card script sends for the number typed
        fields["method_reference"] = card_reference(fields.pop("number"))
    return base | {"idempotency_key": hidden(body, "idempotency_key")} | fields


def methods(customer, **filters):
    with scopes_disabled():
        return list(PaymentMethod.objects.filter(customer=customer, **filters))


def sandbox_charges(**filters) -> int:
    return SandboxCharge.objects.using("sandbox").filter(**filters).count()


@pytest.mark.django_db(transaction=True)
def test_a_new_card_pays_in_one_submit_and_is_not_kept_unless_asked(invoice, customer, token, caplog):
    caplog.set_level(logging.DEBUG)
    client = Client()
    form = pay_form(client, token)

    first = client.post(page_url(token, "pay_new"), form)
    second = client.post(page_url(token, "pay_new"), form)  # a double click: same key

    assert first.status_code == second.status_code == 302
    assert first.url == second.url == f"{page_url(token, 'pay_result')}?attempt={form['idempotency_key']}"
    assert sandbox_charges(status="succeeded") == 1
    assert refreshed(invoice).status == InvoiceStatus.PAID
    assert "$1,250.00 paid with Visa •••• 4242" in client.get(first.url).content.decode()
    # Not kept: the one-off card was removed in the transaction that committed the charge.
    assert methods(customer, removed_at=None) == []
    (one_off,) = methods(customer)
    assert not one_off.is_default
    with scopes_disabled():
        assert PaymentAttempt.objects.get(invoice=invoice).payment_method == one_off
    assert GOOD_CARD not in caplog.text
    # And it can't be charged again, by anyone: the partner's Charge refuses it.
    later = make_invoice(invoice.partner, customer=customer, lines=LINES)
    with scope(partner=invoice.partner), pytest.raises(ValidationError, match="saved payment methods"):
        charge_invoice(invoice=later, method=one_off, trigger=AttemptTrigger.MANUAL, actor=None)


@pytest.mark.django_db(transaction=True)
def test_a_new_card_kept_with_auto_pay_becomes_the_default_and_turns_auto_pay_on(invoice, customer, token):
    old = card_for(customer, "5555555555554444")
    client = Client()
    form = pay_form(client, token, save_method="on", autopay="on")
    assert client.post(page_url(token, "pay_new"), form).status_code == 302

    assert refreshed(invoice).status == InvoiceStatus.PAID
    (default,) = methods(customer, removed_at=None, is_default=True)
    assert str(default) == "Visa •••• 4242"
    assert default.pk != old.pk
    with scopes_disabled():
        assert Customer.objects.get(pk=customer.pk).autopay


@pytest.mark.django_db(transaction=True)
def test_a_new_card_kept_without_auto_pay_leaves_the_default_alone(invoice, customer, token):
    old = card_for(customer, "5555555555554444")
    client = Client()
    assert (
        client.post(page_url(token, "pay_new"), pay_form(client, token, save_method="on")).status_code == 302
    )
    assert len(methods(customer, removed_at=None)) == 2
    assert methods(customer, is_default=True)[0].pk == old.pk
    with scopes_disabled():
        assert not Customer.objects.get(pk=customer.pk).autopay


@pytest.mark.django_db(transaction=True)
def test_a_new_bank_account_shows_processing_until_the_debit_settles(invoice, customer, token):
    client = Client()
    form = pay_form(
        client,
        token,
        kind="bank_account",
        holder_name="Acme Corp",
        routing_number="110000000",
        account_number=GOOD_ACCOUNT,
        account_type="checking",
    )
    result = client.post(page_url(token, "pay_new"), form, follow=True).content.decode()
    assert "<h1>Processing</h1>" in result
    assert "A bank payment of $1,250.00" in client.get(page_url(token)).content.decode()
    assert refreshed(invoice).status == InvoiceStatus.OPEN
    assert methods(customer, removed_at=None) == []  # not kept, though the debit is still running

    later = timezone.now() + datetime.timedelta(days=3)
    for _, body, headers in get_gateway().advance(now=later):
        webhook_receive(body=body, headers=headers)
    assert refreshed(invoice).status == InvoiceStatus.PAID
    assert '<h1 class="portal-ok">Paid</h1>' in client.get(result_url(form, token)).content.decode()


def result_url(form, token) -> str:
    return f"{page_url(token, 'pay_result')}?attempt={form['idempotency_key']}"


@pytest.mark.django_db
def test_errors_show_beside_their_fields_and_keep_what_was_typed_but_never_the_numbers(client, token):
    form = pay_form(client, token, name="Alice <Jones>", method_reference="") | {"autopay": "on"}
    response = client.post(page_url(token, "pay_new"), form)
    body = response.content.decode()
    assert response.status_code == 400
    assert "Enter the card details." in body
    assert "Auto-Pay needs a saved method" in body
    assert 'value="Alice &lt;Jones&gt;"' in body
    assert 'aria-invalid="true"' in body
    assert "the card details were cleared" in body
    assert sandbox_charges() == 0


@pytest.mark.django_db(transaction=True)
def test_a_declined_new_card_says_why_and_is_not_kept(invoice, customer, token):
    client = Client()
    form = pay_form(client, token, number=DECLINED_CARD, save_method="on")
    body = client.post(page_url(token, "pay_new"), form, follow=True).content.decode()
    assert "Payment declined" in body
    assert refreshed(invoice).status == InvoiceStatus.OPEN
    # Kept as asked: a decline is about this charge, and the customer may try it again.
    assert len(methods(customer, removed_at=None)) == 1


@pytest.mark.django_db
def test_a_number_the_gateway_refuses_is_reported_and_nothing_is_saved(client, customer, token):
    form = pay_form(client, token, number="4111111111111111")
    response = client.post(page_url(token, "pay_new"), form)
    assert response.status_code == 400
    assert 'class="form-errors" role="alert"' in response.content.decode()
    assert methods(customer) == []


@pytest.mark.django_db(transaction=True)
def test_a_paid_invoice_takes_no_new_card(invoice, customer, token):
    client = Client()
    first, stale = pay_form(client, token), pay_form(client, token)  # two tabs, drawn while open
    assert client.post(page_url(token, "pay_new"), first).status_code == 302
    response = client.post(page_url(token, "pay_new"), stale)
    assert response.status_code == 400
    assert "already paid. Nothing was charged." in response.content.decode()
    assert sandbox_charges() == 1
    assert methods(customer, removed_at=None) == []


@pytest.mark.django_db(transaction=True)
def test_card_testing_is_stopped_per_pay_link_and_per_address(partner, invoice, customer, token, settings):
    """Someone with a list of stolen numbers tries them one by one on a pay page."""
    settings.PAY_NEW_METHOD_RATE_LIMIT = "3/3600"
    tester = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(3):
        form = pay_form(tester, token, number=DECLINED_CARD)
        assert (
            "Payment declined" in tester.post(page_url(token, "pay_new"), form, follow=True).content.decode()
        )
    assert sandbox_charges() == 3

    elsewhere = Client(REMOTE_ADDR="198.51.100.4")  # the same link from another address
    response = elsewhere.post(page_url(token, "pay_new"), pay_form(elsewhere, token, number=DECLINED_CARD))
    assert response.status_code == 429
    assert "Too many cards tried on this invoice. Nothing was charged." in response.content.decode()

    other_link = token_of(make_invoice(partner, customer=customer, lines=LINES).fresh_pay_url)
    response = tester.post(page_url(other_link, "pay_new"), pay_form(tester, other_link))  # same address
    assert response.status_code == 429
    assert sandbox_charges() == 3

    fresh = Client(REMOTE_ADDR="198.51.100.5")
    assert fresh.post(page_url(other_link, "pay_new"), pay_form(fresh, other_link)).status_code == 302
    assert sandbox_charges() == 4


@pytest.mark.django_db
def test_a_card_form_error_keeps_the_saved_card_offered_as_the_heading_says(client, customer, token):
    card_for(customer)
    form = pay_form(client, token, name="")
    body = client.post(page_url(token, "pay_new"), form).content.decode()
    assert "Enter the name on the card." in body
    assert "Or pay with a new card or bank account" in body
    assert f'href="{page_url(token, "pay_confirm")}"' in body
    # The card that was sent is not drawn back: what is typed next is what gets collected and charged.
    assert form["method_reference"] not in body
