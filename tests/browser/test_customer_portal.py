"""The customer account portal, clicked through: ask for a sign-in link, open it from the dev outbox, pay two
open invoices at once with the saved card, then add a card and make it the default."""

import re

import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from customers.models import PaymentMethod
from invoicing.models import Invoice
from payments.gateways.sandbox.models import SandboxCharge
from reminders.models import CapturedEmail
from tests.factories import PartnerFactory
from tests.factories.invoicing import customer_for, make_invoice
from tests.factories.payments import card_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_customer_signs_in_by_email_and_pays_two_invoices_at_once(page, live_server, settings):
    settings.EMAIL_BACKEND = "reminders.backends.OutboxEmailBackend"
    partner = PartnerFactory(name="Northwind IT Services", brand_colour="#0a7d3b")
    customer = customer_for(partner, name="Alice Jones", company="Acme Corp", email="alice@acme.example")
    card_for(customer)
    first = make_invoice(partner, customer=customer, lines=[("Managed services", "1", 125_000, "0")])
    second = make_invoice(partner, customer=customer, lines=[("Backups", "1", 9_900, "0")])

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/pay/{partner.slug}/account/")  # not signed in: sent to sign in
    page.get_by_label("Your email address").fill("alice@acme.example")
    page.get_by_role("button", name="Email me a sign-in link").click()
    expect(
        page.get_by_text("If that address has an account here, a sign-in link is on its way.")
    ).to_be_visible()

    email = CapturedEmail.objects.filter(subject=f"Sign in to your account at {partner.name}").get()
    page.goto(re.search(r"https?://[^/\s]+(/pay/\S+/)", email.body("plain")).group(1))
    page.get_by_role("button", name="Continue to your account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your invoices")
    expect(page.get_by_text("Invoices in USD (total $1,349.00)")).to_be_visible()
    # Nothing is ticked that the customer did not come for; the button follows the ticks and asks first.
    expect(page.get_by_role("checkbox", name=first.number)).not_to_be_checked()
    expect(page.get_by_role("checkbox", name=second.number)).not_to_be_checked()
    expect(page.get_by_role("button", name="Pay selected USD invoices")).to_be_visible()
    page.get_by_role("checkbox", name=first.number).check()
    expect(page.get_by_role("button", name="Pay $1,250.00", exact=True)).to_be_visible()
    page.get_by_role("checkbox", name=second.number).check()
    asked = []

    def accept(dialog):
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    page.get_by_role("button", name="Pay $1,349.00 for 2 invoices").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your payments")
    expect(page.get_by_role("cell", name="Paid")).to_have_count(2)
    with scopes_disabled():
        assert set(Invoice.objects.filter(customer=customer).values_list("status", flat=True)) == {"paid"}
    amounts = sorted(SandboxCharge.objects.using("sandbox").values_list("amount", flat=True))
    assert amounts == [9_900, 125_000]
    assert asked == ["Charge 2 invoices, $1,349.00 in total, to Visa •••• 4242, expires 12/2035 (default)?"]

    page.get_by_role("link", name="Payment methods").click()
    page.get_by_label("Cardholder name").fill("Alice Jones")
    page.get_by_label("Card number").fill("5555 5555 5555 4444")
    page.get_by_label("Expiry (MM/YY)").fill("11/33")
    page.get_by_label("CVC").fill("321")
    page.get_by_role("button", name="Save card").click()
    expect(page.get_by_text("Mastercard •••• 4444 saved.")).to_be_visible()
    page.get_by_role("button", name="Make default Mastercard •••• 4444").click()
    expect(page.get_by_text("Mastercard •••• 4444 is now your default payment method.")).to_be_visible()
    with scopes_disabled():
        assert str(PaymentMethod.objects.get(customer=customer, is_default=True)) == "Mastercard •••• 4444"
    assert page.console_errors == []
