"""The hosted invoice page at /pay/<token>/: what the customer sees, paying with a saved method (once),
'Viewed by customer' on the timeline, and dead links that reveal nothing."""

import datetime
import re

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from invoicing.models import EventKind, Invoice, InvoiceStatus
from invoicing.services import invoice_mark_uncollectible, invoice_void
from payments.gateways.sandbox.models import SandboxCharge
from payments.models import PayLink, PaymentAttempt
from payments.portal.services import pay_link_issue, pay_link_reissue
from payments.services import payment_record_offline
from tests.conftest import client_for
from tests.factories.invoicing import customer_for, make_invoice
from tests.factories.payments import DECLINED_CARD, bank_account_for, card_for

LINES = [("Managed services, November", "1", 125_000, "0")]


def token_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def page_url(token: str, name: str = "pay_page") -> str:
    return reverse(name, kwargs={"token": token})


def hidden(body: str, name: str) -> str:
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', body).group(0)
    return re.search(r'value="([^"]*)"', tag).group(1)


def without_csrf(body: str) -> str:
    return re.sub(
        r'name="csrfmiddlewaretoken" value="[^"]*"', "", re.sub(r'"X-CSRFToken": "[^"]*"', "", body)
    )


def events(invoice, kind) -> int:
    with scopes_disabled():
        return invoice.events.filter(kind=kind).count()


def refreshed(invoice) -> Invoice:
    with scopes_disabled():
        return Invoice.objects.get(pk=invoice.pk)


@pytest.fixture
def customer(partner):
    return customer_for(partner, name="Alice Jones", company="Acme Corp", email="alice@acme.example")


@pytest.fixture
def invoice(partner, customer):
    card_for(customer)
    return make_invoice(partner, customer=customer, lines=LINES)


@pytest.fixture
def token(invoice):
    return token_of(invoice.fresh_pay_url)


# The page ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_customer_sees_the_branded_invoice_and_a_one_click_pay_button(client, partner, invoice, token):
    partner.brand_colour = "#0a7d3b"
    partner.save()
    response = client.get(page_url(token))
    body = response.content.decode()

    assert response.status_code == 200
    assert f"Invoice {invoice.number}" in body
    assert partner.name in body
    assert "Managed services, November" in body
    assert "$1,250.00" in body
    assert 'href="/pay/brand/0a7d3b.css"' in body
    assert f'href="{page_url(token, "pay_pdf")}"' in body
    assert "Pay $1,250.00 with Visa •••• 4242" in body
    assert f'href="{page_url(token, "pay_confirm")}"' in body
    assert 'style="' not in body
    assert "<script>" not in body
    assert "no-store" in response["Cache-Control"]
    assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.django_db
def test_the_brand_stylesheet_carries_the_colour_and_a_readable_text_colour(client):
    dark = client.get(reverse("pay_brand_css", args=["0a3d7d"]))
    light = client.get(reverse("pay_brand_css", args=["f5e663"]))
    assert dark["Content-Type"] == "text/css"
    assert "--brand:#0a3d7d" in dark.content.decode()
    assert "--on-brand:#ffffff" in dark.content.decode()
    assert "--on-brand:#1b1f24" in light.content.decode()
    assert "immutable" in dark["Cache-Control"]
    assert client.get("/pay/brand/red;}body{x.css").status_code == 404


@pytest.mark.django_db
def test_the_pdf_downloads_from_the_link(client, invoice, token):
    response = client.get(page_url(token, "pay_pdf"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert invoice.number in response["Content-Disposition"]


@pytest.mark.django_db
def test_opening_the_page_records_viewed_at_most_once_an_hour_per_link(client, invoice, token):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.get(page_url(token))
        client.get(page_url(token))
    with time_machine.travel(start + datetime.timedelta(minutes=59), tick=False):
        client.get(page_url(token))
    assert events(invoice, EventKind.VIEWED) == 1
    with time_machine.travel(start + datetime.timedelta(minutes=61), tick=False):
        client.get(page_url(token))
        client.get(page_url(token, "pay_pdf"))  # downloading is not a view of the page
    assert events(invoice, EventKind.VIEWED) == 2
    with scopes_disabled():
        event = invoice.events.filter(kind=EventKind.VIEWED).last()
    assert (event.actor, event.actor_label) == (None, "Customer")


@pytest.mark.django_db
def test_a_partner_user_signed_in_elsewhere_sees_the_same_page(other_owner, invoice, token):
    response = client_for(other_owner).get(page_url(token))
    assert response.status_code == 200
    assert f"Invoice {invoice.number}" in response.content.decode()


# Dead links -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_unknown_expired_and_revoked_links_look_identical(client, partner, invoice, token):
    with scope(partner=partner):
        expired = token_of(pay_link_issue(invoice=invoice))
        PayLink.objects.filter(invoice=invoice).exclude(pk=PayLink.objects.order_by("-id")[1].pk).update(
            expires_at=timezone.now() - datetime.timedelta(seconds=1)
        )
        revoked = token
        pay_link_reissue(invoice=invoice, actor=None)
    unknown = "x" * 43

    responses = [client.get(page_url(t)) for t in (unknown, expired, revoked)]
    assert [r.status_code for r in responses] == [404, 404, 404]
    bodies = {without_csrf(r.content.decode()) for r in responses}
    assert len(bodies) == 1
    body = bodies.pop()
    assert "This payment link doesn't work" in body
    assert invoice.number not in body
    assert partner.name not in body
    for name in ("pay_pdf", "pay_confirm", "pay_result"):
        assert client.get(page_url(expired, name)).status_code == 404


def expire_all_links(invoice):
    with scopes_disabled():
        PayLink.objects.filter(invoice=invoice).update(expires_at=timezone.now() - datetime.timedelta(days=1))


@pytest.mark.django_db
def test_an_expired_link_emails_a_fresh_one_to_the_address_on_file_and_reveals_nothing(
    client, invoice, token, django_capture_on_commit_callbacks
):
    expire_all_links(invoice)
    answers = []
    for url_token, email in [
        (token, "someone@else.example"),  # expired, wrong address
        ("y" * 43, "alice@acme.example"),  # unknown link, right address
        (token, "ALICE@acme.example "),  # expired, the address on file
    ]:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(page_url(url_token), {"email": email})
        answers.append((response.status_code, without_csrf(response.content.decode())))

    assert len(set(answers)) == 1
    assert answers[0][0] == 404
    assert "If that address is on file for this invoice, a fresh link is on its way." in answers[0][1]
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@acme.example"]
    fresh = re.search(r"/pay/([A-Za-z0-9_-]{43})/", message.body).group(1)
    assert client.get(page_url(fresh)).status_code == 200
    assert client.get(page_url(token)).status_code == 404  # the expired one stays dead


@pytest.mark.django_db
def test_a_revoked_link_gets_no_fresh_link_even_with_the_right_address(
    client, invoice, token, django_capture_on_commit_callbacks
):
    with scope(partner=invoice.partner):
        pay_link_reissue(invoice=invoice, actor=None)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(page_url(token), {"email": "alice@acme.example"})
    assert mail.outbox == []


@pytest.mark.django_db
def test_the_fresh_link_form_keeps_bad_input_and_is_rate_limited(client, invoice, token):
    expire_all_links(invoice)
    bad = client.post(page_url(token), {"email": "not-an-email"})
    assert bad.status_code == 404
    assert 'value="not-an-email"' in bad.content.decode()
    assert 'role="alert">Enter an email address.' in bad.content.decode()

    for _ in range(5):
        assert (
            "fresh link is on its way"
            in client.post(page_url(token), {"email": "a@b.example"}).content.decode()
        )
    limited = client.post(page_url(token), {"email": "alice@acme.example"}).content.decode()
    assert "Too many requests" in limited
    assert "fresh link is on its way" not in limited
    assert mail.outbox == []


@pytest.mark.django_db
def test_the_pdf_address_emails_a_link_for_a_matching_number_and_address_only(
    client, invoice, django_capture_on_commit_callbacks
):
    answers = []
    for number, email in [
        (invoice.number, "wrong@acme.example"),
        ("INV-9999", "alice@acme.example"),
        (invoice.number.lower(), "alice@acme.example"),
    ]:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("pay_lookup"), {"number": number, "email": email})
        answers.append((response.status_code, without_csrf(response.content.decode())))
    assert len(set(answers)) == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["alice@acme.example"]
    assert "/pay/" in mail.outbox[0].body


# Paying -----------------------------------------------------------------------------------------------


def confirm(client, token) -> dict:
    body = client.get(page_url(token, "pay_confirm")).content.decode()
    assert "Confirm payment" in body
    return {"method": hidden(body, "method"), "idempotency_key": hidden(body, "idempotency_key")}


def charges(**filters) -> int:
    return SandboxCharge.objects.using("sandbox").filter(**filters).count()


@pytest.mark.django_db(transaction=True)
def test_two_clicks_pay_and_a_double_submit_charges_once(partner, invoice, token):
    client = Client(enforce_csrf_checks=True)
    page = client.get(page_url(token))  # sets the CSRF cookie, as a browser opening the link would
    assert page.status_code == 200
    form = confirm(client, token)
    form["csrfmiddlewaretoken"] = client.cookies["csrftoken"].value

    first = client.post(page_url(token, "pay_confirm"), form)
    second = client.post(page_url(token, "pay_confirm"), form)

    assert first.status_code == second.status_code == 302
    assert first.url == second.url == f"{page_url(token, 'pay_result')}?attempt={form['idempotency_key']}"
    assert charges(idempotency_key=form["idempotency_key"]) == 1
    assert refreshed(invoice).status == InvoiceStatus.PAID
    with scopes_disabled():
        attempt = PaymentAttempt.objects.get(invoice=invoice)
    assert attempt.trigger == "customer"
    result = client.get(first.url).content.decode()
    assert '<h1 class="portal-ok">Paid</h1>' in result
    assert "$1,250.00 paid with Visa •••• 4242" in result
    receipts = [m for m in mail.outbox if m.subject.startswith("Receipt")]
    assert len(receipts) == 1
    assert receipts[0].to == ["alice@acme.example"]
    assert "$1,250.00" in receipts[0].body

    # The page now says paid, and a fresh confirm form charges nothing.
    assert "This invoice is paid" in client.get(page_url(token)).content.decode()
    assert client.get(page_url(token, "pay_confirm")).status_code == 302
    form["idempotency_key"] = "b" * 32
    again = client.post(page_url(token, "pay_confirm"), form)
    assert "already paid. Nothing was charged." in again.content.decode()
    assert charges() == 1


@pytest.mark.django_db
def test_without_csrf_the_confirm_step_is_refused(invoice, token):
    client = Client(enforce_csrf_checks=True)
    form = confirm(client, token)
    assert client.post(page_url(token, "pay_confirm"), form).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_a_declined_card_shows_the_reason_and_the_invoice_stays_open(partner, customer):
    card_for(customer, DECLINED_CARD)
    invoice = make_invoice(partner, customer=customer, lines=LINES)
    client, token = Client(), token_of(invoice.fresh_pay_url)
    response = client.post(page_url(token, "pay_confirm"), confirm(client, token), follow=True)
    body = response.content.decode()
    assert "Payment declined" in body
    assert "The card has insufficient funds." in body
    # Not a dead end: the pay page again, the saved card still offered and a new card one form away.
    assert f'href="{page_url(token, "pay_confirm")}"' in body
    assert f'action="{page_url(token, "pay_new")}"' in body
    assert refreshed(invoice).status == InvoiceStatus.OPEN
    assert not [m for m in mail.outbox if m.subject.startswith("Receipt")]
    # A poll that learns of the decline reloads the page (the polled fragment holds no form).
    polled = client.get(
        response.request["PATH_INFO"] + "?" + response.request["QUERY_STRING"], HTTP_HX_REQUEST="true"
    )
    assert polled.headers["HX-Refresh"] == "true"


@pytest.mark.django_db(transaction=True)
def test_a_bank_payment_shows_processing_and_polls(partner, customer):
    bank_account_for(customer)
    invoice = make_invoice(partner, customer=customer, lines=LINES)
    client, token = Client(), token_of(invoice.fresh_pay_url)
    response = client.post(page_url(token, "pay_confirm"), confirm(client, token), follow=True)
    body = response.content.decode()
    assert "<h1>Processing</h1>" in body
    assert 'hx-trigger="every 30s"' in body
    assert "A bank payment of $1,250.00" in client.get(page_url(token)).content.decode()
    assert client.get(page_url(token, "pay_confirm")).status_code == 302  # no second charge offered


@pytest.mark.django_db
def test_a_pending_charge_polls_every_2_seconds_and_htmx_gets_the_fragment(client, invoice, token):
    form = confirm(client, token)
    response = client.post(page_url(token, "pay_confirm"), form)  # not committed here: stays pending
    result = client.get(response.url).content.decode()
    assert "Processing your payment" in result
    assert 'hx-trigger="every 2s"' in result
    fragment = client.get(response.url, headers={"HX-Request": "true"}).content.decode()
    assert fragment.strip().startswith('<div id="pay-result"')
    assert "<html" not in fragment


@pytest.mark.django_db
@pytest.mark.parametrize("state", ["paid", "void", "uncollectible_then_paid"])
def test_paid_and_void_invoices_cannot_be_paid(client, partner, invoice, token, state):
    form = confirm(client, token)  # drawn while the invoice was still open
    with scope(partner=partner):
        if state == "void":
            invoice_void(invoice=invoice, actor=None)
        else:
            if state == "uncollectible_then_paid":
                invoice_mark_uncollectible(invoice=invoice, actor=None)
            payment_record_offline(
                invoice=refreshed(invoice),
                amount=invoice.total,
                method="check",
                received_on=partner.today(),
                actor=None,
            )
    page = client.get(page_url(token)).content.decode()
    assert "Pay $" not in page
    assert ("cancelled (void)" if state == "void" else "This invoice is paid") in page

    response = client.post(page_url(token, "pay_confirm"), form)
    assert response.status_code == 409
    assert 'role="alert"' in response.content.decode()
    assert "Nothing was charged." in response.content.decode()
    with scopes_disabled():
        assert not PaymentAttempt.objects.filter(invoice=invoice).exists()


@pytest.mark.django_db
def test_another_customers_link_or_method_cannot_see_or_pay_this_invoice(client, partner, invoice, token):
    other_customer = customer_for(partner, name="Bob", email="bob@beta.example")
    other_card = card_for(other_customer, "5555555555554444")
    other_invoice = make_invoice(partner, customer=other_customer, lines=[("Other work", "1", 777_00, "0")])
    other_token = token_of(other_invoice.fresh_pay_url)

    other_page = client.get(page_url(other_token)).content.decode()
    assert invoice.number not in other_page
    assert "Managed services, November" not in other_page

    # This invoice's link with the other customer's card: refused, nothing charged.
    form = confirm(client, token) | {"method": str(other_card.pk)}
    response = client.post(page_url(token, "pay_confirm"), form)
    assert "no longer available" in response.content.decode()
    with scopes_disabled():
        assert not PaymentAttempt.objects.filter(invoice=invoice).exists()

    # The other invoice's attempt is not shown through this link.
    other_form = confirm(client, other_token)
    client.post(page_url(other_token, "pay_confirm"), other_form)
    peek = client.get(f"{page_url(token, 'pay_result')}?attempt={other_form['idempotency_key']}")
    assert peek.status_code == 302
    assert peek.url == page_url(token)


@pytest.mark.django_db
def test_a_tampered_key_gets_a_message_not_an_error(client, invoice, token):
    form = confirm(client, token) | {"idempotency_key": "'; drop table --"}
    response = client.post(page_url(token, "pay_confirm"), form)
    assert response.status_code == 400
    assert "This form is out of date" in response.content.decode()


@pytest.mark.django_db
def test_without_a_saved_method_the_page_offers_the_new_card_form_only(client, partner):
    invoice = make_invoice(partner, lines=LINES)
    token = token_of(invoice.fresh_pay_url)
    body = client.get(page_url(token)).content.decode()
    assert "Pay $1,250.00 with a card or bank account" in body
    assert page_url(token, "pay_confirm") not in body
    assert client.get(page_url(token, "pay_confirm")).status_code == 302
