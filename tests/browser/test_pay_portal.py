"""The customer's clicks, counted from opening the pay link emailed to them (taken from the dev outbox) to
"Paid": two with a saved card, one form submit with a new card.

The link comes from the invoice email the partner's "Send" button sends (reminders.services.invoice_send),
delivered by the worker into the dev outbox (EMAIL_ESP=outbox), exactly as a customer receives it.
"""

import re

import pytest
from django_scopes import scope, scopes_disabled
from playwright.sync_api import expect

from customers.models import PaymentMethod
from invoicing.models import Invoice
from payments.gateways.sandbox.models import SandboxCharge
from reminders.models import CapturedEmail
from reminders.services import invoice_send
from tests.browser.conftest import ARTIFACTS
from tests.factories import PartnerFactory
from tests.factories.invoicing import customer_for, make_invoice
from tests.factories.payments import card_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MAX_CLICKS = 2
PAY_LINK = re.compile(r"https?://[^/\s]+(/pay/[A-Za-z0-9_-]{43}/)")


@pytest.fixture
def outbox(settings):
    """Emails land in the dev outbox (EMAIL_ESP=outbox), as in development, not in memory."""
    settings.EMAIL_BACKEND = "reminders.backends.OutboxEmailBackend"


def emailed_link(invoice: Invoice) -> str:
    """The partner presses Send; the path of the pay link in that email, read from the dev outbox."""
    with scope(partner=invoice.partner):
        invoice_send(invoice=invoice, actor=None)
    email = CapturedEmail.objects.filter(to__contains=invoice.customer.email).first()
    assert email is not None, "no email in the dev outbox"
    assert invoice.number in email.subject
    return PAY_LINK.search(email.body("plain")).group(1)


def scenario(*, saved_card: bool):
    partner = PartnerFactory(name="Northwind IT Services", brand_colour="#0a7d3b")
    customer = customer_for(partner, name="Alice Jones", company="Acme Corp", email="alice@acme.example")
    if saved_card:
        card_for(customer)
    invoice = make_invoice(partner, customer=customer, lines=[("Managed services", "1", 125_000, "0")])
    return invoice, emailed_link(invoice)


class Clicks:
    """Counts what the customer does: each click, and each form submitted (typing is not a click)."""

    def __init__(self):
        self.count = 0

    def __call__(self, locator):
        self.count += 1
        locator.click()


def assert_paid_once(invoice, page):
    with scopes_disabled():
        assert Invoice.objects.get(pk=invoice.pk).status == "paid"
    assert SandboxCharge.objects.using("sandbox").filter(amount=125_000, status="succeeded").count() == 1
    assert page.console_errors == []  # no CSP violations either


def test_a_customer_pays_with_a_saved_card_in_at_most_two_clicks(page, live_server, outbox):
    invoice, path = scenario(saved_card=True)
    click = Clicks()

    page.set_viewport_size({"width": 390, "height": 844})  # a phone: the page is mobile first
    page.goto(path)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Invoice {invoice.number}")
    expect(page.get_by_text("Northwind IT Services").first).to_be_visible()
    button = page.get_by_role("link", name="Pay $1,250.00 with Visa •••• 4242")
    expect(button).to_have_css("background-color", "rgb(10, 125, 59)")  # the partner's colour
    page.screenshot(path=str(ARTIFACTS / "pay_portal_invoice.png"), full_page=True)

    click(button)
    click(page.get_by_role("button", name="Confirm payment"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Paid")
    expect(page.get_by_role("status")).to_contain_text("$1,250.00 paid with Visa •••• 4242")
    page.screenshot(path=str(ARTIFACTS / "pay_portal_paid.png"), full_page=True)

    print(f"\nBENCH pay_clicks {click.count} clicks")
    assert click.count <= MAX_CLICKS
    assert_paid_once(invoice, page)

    # Back on the invoice: paid, and nothing left to pay.
    page.get_by_role("link", name=f"Back to invoice {invoice.number}").click()
    expect(page.get_by_text("This invoice is paid. Thank you.")).to_be_visible()
    expect(page.get_by_role("link", name="Pay $1,250.00 with Visa •••• 4242")).to_have_count(0)


def test_a_customer_pays_with_a_new_card_in_one_form(page, live_server, outbox):
    invoice, path = scenario(saved_card=False)
    click = Clicks()

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(path)
    page.get_by_label("Cardholder name").fill("Alice Jones")
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry (MM/YY)").fill("12/34")
    page.get_by_label("CVC").fill("123")
    click(page.get_by_role("button", name="Pay $1,250.00"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Paid")
    expect(page.get_by_role("status")).to_contain_text("$1,250.00 paid with Visa •••• 4242")

    print(f"\nBENCH pay_clicks_new_card {click.count} clicks")
    assert click.count == 1
    assert_paid_once(invoice, page)
    with scopes_disabled():
        assert not PaymentMethod.objects.filter(customer=invoice.customer, removed_at=None).exists()


def fill_card(page, number: str):
    page.get_by_label("Cardholder name").fill("Alice Jones")
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Expiry (MM/YY)").fill("12/34")
    page.get_by_label("CVC").fill("123")


def test_after_a_decline_the_customer_tries_another_card_on_the_same_page(page, live_server, outbox):
    invoice, path = scenario(saved_card=True)
    page.goto(path)
    saved = page.get_by_role("link", name="Pay $1,250.00 with Visa •••• 4242")

    # A card-form error: the saved card is still offered, as the "Or pay with…" heading says.
    fill_card(page, "4242 4242 4242 4242")
    page.get_by_label("Cardholder name").fill("")  # the server asks for it
    page.get_by_role("button", name="Pay $1,250.00").click()
    expect(page.get_by_text("Enter the name on the card.")).to_be_visible()
    expect(page.get_by_role("heading", name="Or pay with a new card or bank account")).to_be_visible()
    expect(saved).to_be_visible()
    assert page.console_errors == [
        "Failed to load resource: the server responded with a status of 400 (Bad Request)"
    ]
    page.console_errors.clear()  # that 400 is the refused form, as it should be

    # A decline: the message, then the pay form again, the saved card still there.
    fill_card(page, "4000 0000 0000 0002")
    page.get_by_role("button", name="Pay $1,250.00").click()
    alert = page.locator(".form-errors[role=alert]")
    expect(alert).to_contain_text("Payment declined")
    expect(alert).to_contain_text("Nothing was charged.")
    expect(page.get_by_label("Card number")).to_be_visible()
    expect(saved).to_be_visible()
    with scopes_disabled():
        assert Invoice.objects.get(pk=invoice.pk).status == "open"

    # Another card, on the same page: paid.
    fill_card(page, "4242 4242 4242 4242")
    page.get_by_role("button", name="Pay $1,250.00").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Paid")
    assert_paid_once(invoice, page)


def test_a_pay_link_shows_the_customers_other_open_invoices_and_pays_one(page, live_server, outbox):
    invoice, path = scenario(saved_card=True)
    other = make_invoice(invoice.partner, customer=invoice.customer, lines=[("Backup", "1", 4_000, "0")])
    someone_else = make_invoice(
        invoice.partner, customer=customer_for(invoice.partner), lines=[("X", "1", 100, "0")]
    )
    page.goto(path)

    others = page.get_by_role("region", name="Your other open invoices from Northwind IT Services")
    expect(others).to_contain_text(f"Invoice {other.number}: $40.00 due")
    expect(others).not_to_contain_text(someone_else.number)
    expect(
        page.get_by_text("changing saved payment methods, billing details or Auto-Pay needs signing in")
    ).to_be_visible()

    others.get_by_role("button", name=f"Invoice {other.number}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Invoice {other.number}")
    page.get_by_role("link", name="Pay $40.00 with Visa •••• 4242").click()
    page.get_by_role("button", name="Confirm payment").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Paid")
    with scopes_disabled():
        assert Invoice.objects.get(pk=other.pk).status == "paid"
        assert Invoice.objects.get(pk=invoice.pk).status == "open"
    assert page.console_errors == []
