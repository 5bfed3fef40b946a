"""The customer account portal at /pay/<partner>/account/: magic-link sign-in (once, short-lived, rate
limited, no account enumeration), one account per partner, invoices and paying several at once, saved
methods and Auto-Pay, billing details, and nobody seeing another customer's account."""

import datetime
import re

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from customers.models import Customer, PaymentMethod
from invoicing.models import InvoiceStatus
from payments.gateways.sandbox.models import SandboxCharge
from payments.models import PaymentAttempt, PortalSignInLink
from tests.conftest import client_for
from tests.factories.invoicing import customer_for, make_invoice
from tests.factories.payments import card_for, card_reference
from tests.payments.test_pay_page import hidden, refreshed, without_csrf

LINK = re.compile(r"https?://[^/\s]+(/pay/[A-Za-z0-9_-]{16}/account/sign-in/[A-Za-z0-9_-]{43}/)")


def url(partner, name, **kwargs) -> str:
    return reverse(name, kwargs={"partner_slug": partner.slug, **kwargs})


@pytest.fixture
def alice(partner):
    return customer_for(partner, name="Alice Jones", company="Acme Corp", email="alice@acme.example")


def ask_for_link(client, partner, email, capture) -> tuple[int, str]:
    mail.outbox.clear()
    with capture(execute=True):
        response = client.post(url(partner, "portal_sign_in"), {"email": email})
    return response.status_code, without_csrf(response.content.decode())


def emailed_link() -> str:
    (message,) = mail.outbox
    return LINK.search(message.body).group(1)


def signed_in(client, partner, customer, capture) -> Client:
    ask_for_link(client, partner, customer.email, capture)
    response = client.post(emailed_link())
    assert response.status_code == 302
    assert response.url == url(partner, "portal_invoices")
    return client


@pytest.fixture
def sign_in(django_capture_on_commit_callbacks):
    def _sign_in(partner, customer, client=None):
        return signed_in(client or Client(), partner, customer, django_capture_on_commit_callbacks)

    return _sign_in


# Signing in -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_answer_is_the_same_whether_or_not_the_address_has_an_account(
    client, partner, alice, django_capture_on_commit_callbacks
):
    known = ask_for_link(client, partner, "ALICE@acme.example ", django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["alice@acme.example"]
    assert mail.outbox[0].subject == f"Sign in to your account at {partner.name}"
    unknown = ask_for_link(client, partner, "nobody@acme.example", django_capture_on_commit_callbacks)
    assert mail.outbox == []
    assert known == unknown
    assert "If that address has an account here, a sign-in link is on its way." in known[1]


@pytest.mark.django_db
def test_the_link_is_stored_hashed_works_once_and_signs_in_only_the_customer(
    partner, alice, django_capture_on_commit_callbacks
):
    client = Client()
    ask_for_link(client, partner, alice.email, django_capture_on_commit_callbacks)
    link = emailed_link()
    token = link.rstrip("/").rsplit("/", 1)[-1]
    with scopes_disabled():
        stored = PortalSignInLink.objects.get(customer=alice)
    assert token not in stored.token_hash
    assert len(token) >= 43  # 256 bits, urlsafe base64

    # Opening the link (as a mail scanner would) uses nothing up; the button does.
    assert client.get(link).status_code == 200
    assert client.post(link).status_code == 302
    page = client.get(url(partner, "portal_invoices"))
    assert page.status_code == 200
    assert "Your invoices" in page.content.decode()
    assert "_auth_user_id" not in client.session  # a customer, not a partner user
    assert client.get(reverse("dashboard")).status_code == 302  # partner pages still want a sign-in

    again = Client().post(link)
    assert again.status_code == 404
    assert "This sign-in link doesn't work" in again.content.decode()


@pytest.mark.django_db
def test_the_link_expires_after_15_minutes(partner, alice, django_capture_on_commit_callbacks):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        ask_for_link(Client(), partner, alice.email, django_capture_on_commit_callbacks)
    link = emailed_link()
    with time_machine.travel(start + datetime.timedelta(minutes=15, seconds=1), tick=False):
        assert Client().post(link).status_code == 404


@pytest.mark.django_db
def test_the_session_ends_after_its_hours_and_on_sign_out(partner, alice, sign_in):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client = sign_in(partner, alice)
    with time_machine.travel(start + datetime.timedelta(hours=7), tick=False):
        assert client.get(url(partner, "portal_invoices")).status_code == 200
    with time_machine.travel(start + datetime.timedelta(hours=8, seconds=1), tick=False):
        assert client.get(url(partner, "portal_invoices")).url == url(partner, "portal_sign_in")
    client = sign_in(partner, alice)
    client.post(url(partner, "portal_sign_out"))
    assert client.get(url(partner, "portal_invoices")).status_code == 302


@pytest.mark.django_db
def test_asking_for_links_is_rate_limited_per_address_and_per_client(
    client, partner, alice, django_capture_on_commit_callbacks
):
    for _ in range(5):
        ask_for_link(client, partner, alice.email, django_capture_on_commit_callbacks)
    _, body = ask_for_link(client, partner, alice.email, django_capture_on_commit_callbacks)
    assert "Too many requests" in body
    assert mail.outbox == []
    # Another address from the same client address is limited too (per IP) ...
    _, body = ask_for_link(client, partner, "other@acme.example", django_capture_on_commit_callbacks)
    assert "Too many requests" in body
    # ... and the same address from elsewhere (per email).
    elsewhere = Client(REMOTE_ADDR="203.0.113.9")
    _, body = ask_for_link(elsewhere, partner, alice.email, django_capture_on_commit_callbacks)
    assert "Too many requests" in body


@pytest.mark.django_db
def test_bad_input_is_kept_with_a_message(client, partner):
    response = client.post(url(partner, "portal_sign_in"), {"email": "alice@"})
    body = response.content.decode()
    assert 'value="alice@"' in body
    assert "Enter an email address." in body


@pytest.mark.django_db
def test_the_same_email_at_two_partners_is_two_accounts(
    partner, other_partner, alice, sign_in, django_capture_on_commit_callbacks
):
    alice_there = customer_for(other_partner, name="Alice Jones", email="alice@acme.example")
    here = make_invoice(partner, customer=alice, lines=[("Here", "1", 10_000, "0")])
    there = make_invoice(other_partner, customer=alice_there, lines=[("There", "1", 20_000, "0")])

    client = sign_in(partner, alice)
    body = client.get(url(partner, "portal_invoices")).content.decode()
    assert here.number in body
    assert "$200.00" not in body
    # Signed in here is not signed in there; and a link from here doesn't work there.
    assert client.get(url(other_partner, "portal_invoices")).status_code == 302
    ask_for_link(Client(), partner, alice.email, django_capture_on_commit_callbacks)
    link_here = emailed_link()
    token = link_here.rstrip("/").rsplit("/", 1)[-1]
    foreign = reverse("portal_sign_in_link", kwargs={"partner_slug": other_partner.slug, "token": token})
    assert client.post(foreign).status_code == 404
    client = sign_in(other_partner, alice_there, client)
    assert "$200.00" in client.get(url(other_partner, "portal_invoices")).content.decode()
    assert there.number in client.get(url(other_partner, "portal_invoices")).content.decode()


@pytest.mark.django_db
def test_an_unknown_partner_is_a_404(client):
    assert (
        client.get(reverse("portal_sign_in", kwargs={"partner_slug": "no-such-partner"})).status_code == 404
    )


# Invoices and paying several ------------------------------------------------------------------------


def pay_form(client, partner, currency="USD") -> dict:
    body = client.get(url(partner, "portal_invoices")).content.decode()
    forms = [f for f in body.split("<form")[1:] if "portal-pay-several" in f.split(">", 1)[0]]
    (html,) = [f for f in forms if f'name="currency" value="{currency}"' in f]
    return {
        "idempotency_key": hidden(html, "idempotency_key"),
        "currency": currency,
        "method": re.search(r'<option value="(\d+)"', html).group(1),
        "invoices": re.findall(r'name="invoices" value="(\d+)"', html),
    }


@pytest.mark.django_db(transaction=True)
def test_several_invoices_are_paid_one_charge_each_and_a_resubmit_charges_none_again(partner, alice, sign_in):
    card_for(alice)
    first = make_invoice(partner, customer=alice, lines=[("One", "1", 10_000, "0")])
    second = make_invoice(partner, customer=alice, lines=[("Two", "1", 25_000, "0")])
    euros = make_invoice(partner, customer=alice, currency="EUR", lines=[("Drei", "1", 5_000, "0")])
    client = sign_in(partner, alice)
    page = client.get(url(partner, "portal_invoices")).content.decode()
    assert "Invoices in USD (total $350.00)" in page
    assert "Invoices in EUR" in page
    assert (
        reverse("portal_invoice_pdf", kwargs={"partner_slug": partner.slug, "invoice_id": first.pk}) in page
    )

    form = pay_form(client, partner)
    assert sorted(form["invoices"]) == sorted([str(first.pk), str(second.pk)])
    response = client.post(url(partner, "portal_pay"), form)
    again = client.post(url(partner, "portal_pay"), form)
    assert response.status_code == 302
    assert again.url == response.url

    assert refreshed(first).status == refreshed(second).status == InvoiceStatus.PAID
    assert refreshed(euros).status == InvoiceStatus.OPEN
    amounts = sorted(SandboxCharge.objects.using("sandbox").values_list("amount", flat=True))
    assert amounts == [10_000, 25_000]
    result = client.get(response.url).content.decode()
    assert result.count(">Paid<") == 2
    past = client.get(url(partner, "portal_invoices")).content.decode()
    assert "Invoices in USD" not in past
    assert first.number in past  # now under past invoices


@pytest.mark.django_db
def test_another_customers_invoices_and_methods_cannot_be_seen_or_paid(partner, alice, sign_in):
    bob = customer_for(partner, name="Bob", email="bob@beta.example")
    bob_card = card_for(bob)
    card_for(alice)
    bobs = make_invoice(partner, customer=bob, lines=[("Bob's work", "1", 77_700, "0")])
    make_invoice(partner, customer=alice, lines=[("Alice's work", "1", 10_000, "0")])
    client = sign_in(partner, alice)

    page = client.get(url(partner, "portal_invoices")).content.decode()
    assert bobs.number not in page
    assert "$777.00" not in page
    assert client.get(url(partner, "portal_invoice_pdf", invoice_id=bobs.pk)).status_code == 404
    form = pay_form(client, partner) | {"invoices": [str(bobs.pk)]}
    assert client.post(url(partner, "portal_pay"), form).status_code == 400
    form = pay_form(client, partner) | {"method": str(bob_card.pk)}
    assert client.post(url(partner, "portal_pay"), form).status_code == 400
    for name in ("portal_method_default", "portal_method_remove"):
        assert client.post(url(partner, name, payment_method_id=bob_card.pk)).status_code == 404
    with scopes_disabled():
        assert not PaymentAttempt.objects.exists()
        assert PaymentMethod.objects.get(pk=bob_card.pk).removed_at is None
    # Without signing in, nothing at all.
    anonymous = Client()
    for name in ("portal_invoices", "portal_methods", "portal_details"):
        assert anonymous.get(url(partner, name)).url == url(partner, "portal_sign_in")
    assert anonymous.get(url(partner, "portal_invoice_pdf", invoice_id=bobs.pk)).status_code == 302


@pytest.mark.django_db
def test_a_partner_user_is_not_a_customer(partner, owner):
    assert client_for(owner).get(url(partner, "portal_invoices")).url == url(partner, "portal_sign_in")


# Methods, Auto-Pay, billing details -----------------------------------------------------------------


@pytest.mark.django_db
def test_the_customer_adds_sets_default_and_removes_methods_and_turns_auto_pay_on(partner, alice, sign_in):
    client = sign_in(partner, alice)
    methods = url(partner, "portal_methods")
    bad = client.post(
        methods, {"kind": "card", "name": "Alice", "method_reference": card_reference("4111111111111111")}
    )
    assert bad.status_code == 400
    assert "This is test mode: use a test card" in bad.content.decode()

    card = {"kind": "card", "name": "Alice", "method_reference": card_reference("4242424242424242", 12, 2034)}
    assert client.post(methods, card).status_code == 302
    bank = {
        "kind": "bank_account",
        "holder_name": "Acme",
        "routing_number": "110000000",
        "account_number": "000123456789",
        "account_type": "checking",
    }
    assert client.post(methods, bank).status_code == 302
    with scopes_disabled():
        visa, account = (PaymentMethod.objects.get(customer=alice, kind=k) for k in ("card", "bank_account"))
    assert visa.is_default
    client.post(url(partner, "portal_method_default", payment_method_id=account.pk))
    client.post(url(partner, "portal_autopay"), {"enabled": "1"})
    with scopes_disabled():
        assert PaymentMethod.objects.get(pk=account.pk).is_default
        assert Customer.objects.get(pk=alice.pk).autopay
    client.post(url(partner, "portal_method_remove", payment_method_id=account.pk))
    client.post(url(partner, "portal_method_remove", payment_method_id=visa.pk))
    page = client.get(methods).content.decode()
    assert "No saved payment methods." in page
    with scopes_disabled():
        assert not Customer.objects.get(pk=alice.pk).autopay  # nothing left to charge


@pytest.mark.django_db
def test_the_customer_updates_billing_details_with_errors_kept(partner, alice, sign_in):
    client = sign_in(partner, alice)
    details = url(partner, "portal_details")
    data = {
        "name": "Alice J. Jones",
        "company": "Acme Corp",
        "cc_emails": "ap@acme.example, oops@",
        "country": "US",
    }
    bad = client.post(details, data)
    assert bad.status_code == 400
    assert "“oops@” is not a valid email address." in bad.content.decode()
    assert "Alice J. Jones" in bad.content.decode()
    client.post(details, data | {"cc_emails": "ap@acme.example", "email": "evil@attacker.example"})
    with scopes_disabled():
        saved = Customer.objects.get(pk=alice.pk)
    assert saved.name == "Alice J. Jones"
    assert saved.cc_emails == ["ap@acme.example"]
    assert saved.email == "alice@acme.example"  # not changeable here
