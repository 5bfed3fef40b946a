"""Card entry with Stripe.js on the test double: the card goes from the browser to (fake) Stripe, the
app receives only a SetupIntent's id and charges it off-session. The card-number guard
(tests/card_number_guard.py) is on: a number reaching the app would fail the test."""

import re

import pytest
from django.core import mail
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from customers.models import PaymentMethod
from invoicing.models import InvoiceStatus, PaymentOption
from partners.models import Role
from payments.models import PaymentAttempt
from tests.browser.test_dashboard import sign_in
from tests.conftest import member_of
from tests.factories import PartnerFactory
from tests.factories.invoicing import customer_for, make_invoice
from tests.factories.payments import connect_stripe

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def stripe_partner(settings, stripe_double):
    settings.STRIPE_API_BASE = stripe_double.url
    settings.STRIPE_JS_URL = stripe_double.js_url
    partner = PartnerFactory(name="Northwind IT Services", email="billing@northwind.example")
    partner.stripe_account = connect_stripe(partner, stripe_double, name="Northwind IT Services")["id"]
    return partner


def pay_page(partner):
    customer = customer_for(partner, name="Alice Jones", email="alice@acme.example")
    invoice = make_invoice(partner, customer=customer, lines=[("Managed services", "1", 125_000, "0")])
    return invoice, invoice.fresh_pay_url.split("://", 1)[1].split("/", 1)[1]


def enter_card(page, number: str, name: str = "Alice Jones"):
    """Stripe.js's Card Element (the double's: one input per part)."""
    page.get_by_label("Cardholder name").fill(name)
    page.get_by_placeholder("number").fill(number)
    page.get_by_placeholder("exp_month").fill("12")
    page.get_by_placeholder("exp_year").fill("34")
    page.get_by_placeholder("cvc").fill("123")
    page.get_by_placeholder("postal_code").fill("10001")


def intents(double, partner) -> list[dict]:
    return double.ledger(partner.stripe_account)["payment_intents"]


def test_4242_pays(page, stripe_partner, stripe_double):
    invoice, path = pay_page(stripe_partner)
    page.goto(f"/{path}")
    expect(page.get_by_text("Test mode", exact=True)).to_be_visible()
    enter_card(page, "4242424242424242")
    page.get_by_role("button", name="Pay $1,250.00").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Paid")
    expect(page.get_by_role("status")).to_contain_text("$1,250.00 paid with Visa •••• 4242")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    [intent] = intents(stripe_double, stripe_partner)
    assert (intent["amount"], intent["status"], intent["metadata"]["invoice"]) == (
        125_000,
        "succeeded",
        invoice.number,
    )
    assert page.console_errors == []


def test_3d_secure_completed_pays(page, stripe_partner, stripe_double):
    _invoice, path = pay_page(stripe_partner)
    page.goto(f"/{path}")
    enter_card(page, "4000002500003155")
    page.get_by_role("button", name="Pay $1,250.00").click()
    page.get_by_role("button", name="Complete authentication").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Paid")
    assert [pi["status"] for pi in intents(stripe_double, stripe_partner)] == ["succeeded"]


def test_3d_secure_failed_does_not_pay(page, stripe_partner, stripe_double):
    invoice, path = pay_page(stripe_partner)
    page.goto(f"/{path}")
    enter_card(page, "4000002500003155")
    page.get_by_role("button", name="Pay $1,250.00").click()
    page.get_by_role("button", name="Fail authentication").click()
    expect(page.locator(".card-entry-error")).to_contain_text("authentication failed")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN
    assert intents(stripe_double, stripe_partner) == []
    with scopes_disabled():
        assert not PaymentAttempt.objects.filter(invoice=invoice).exists()


def test_a_declined_card_says_so(page, stripe_partner, stripe_double):
    invoice, path = pay_page(stripe_partner)
    page.goto(f"/{path}")
    enter_card(page, "4000000000000002")
    page.get_by_role("button", name="Pay $1,250.00").click()
    expect(page.locator(".card-entry-error")).to_contain_text("Your card was declined.")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN
    with scopes_disabled():
        assert not PaymentMethod.objects.filter(customer=invoice.customer).exists()


def test_a_saved_card_that_fails_off_session_sends_the_failure_email(page, stripe_partner, stripe_double):
    owner = member_of(stripe_partner, Role.OWNER, email="dana@northwind.example").user
    customer = customer_for(stripe_partner, name="Acme Corp", email="ap@acme.example")
    sign_in(page, owner.email)
    page.goto(f"/customers/{customer.pk}/payment-methods/new/")
    enter_card(page, "4000000000000341", name="Acme Corp")
    page.get_by_role("button", name="Save card").click()
    expect(page.get_by_text("Visa •••• 0341 saved for Acme Corp.")).to_be_visible()
    mail.outbox.clear()

    invoice = make_invoice(
        stripe_partner,
        customer=customer,
        payment_option=PaymentOption.CHARGE_NOW,
        lines=[("Support", "1", 9_900, "0")],
    )
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN
    [alert] = [m for m in mail.outbox if m.subject.startswith("Charge failed")]
    assert alert.to == ["billing@northwind.example"]
    assert f"invoice {invoice.number}" in alert.subject
    [intent] = intents(stripe_double, stripe_partner)
    assert intent["status"] == "requires_payment_method"
    assert re.search(r"declined", alert.body, re.IGNORECASE)
