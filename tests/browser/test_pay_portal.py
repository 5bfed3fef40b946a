"""The customer's two clicks: from opening a freshly issued pay link to "Paid" with a saved card.

(Taking the link from the dev outbox comes with the invoice emails; here the link comes from the service.)
"""

import pytest
from django_scopes import scope, scopes_disabled
from playwright.sync_api import expect

from invoicing.models import Invoice
from payments.gateways.sandbox.models import SandboxCharge
from payments.portal.services import pay_link_reissue
from tests.browser.conftest import ARTIFACTS
from tests.factories import PartnerFactory
from tests.factories.invoicing import customer_for, make_invoice
from tests.factories.payments import card_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MAX_CLICKS = 2


def test_a_customer_pays_with_a_saved_card_in_at_most_two_clicks(page, live_server):
    partner = PartnerFactory(name="Northwind IT Services", brand_colour="#0a7d3b")
    customer = customer_for(partner, name="Alice Jones", company="Acme Corp", email="alice@acme.example")
    card_for(customer)
    invoice = make_invoice(partner, customer=customer, lines=[("Managed services", "1", 125_000, "0")])
    with scope(partner=partner):
        url = pay_link_reissue(invoice=invoice, actor=None)
    path = url.split("://", 1)[1].split("/", 1)[1]

    clicks = 0

    def click(locator):
        nonlocal clicks
        clicks += 1
        locator.click()

    page.set_viewport_size({"width": 390, "height": 844})  # a phone: the page is mobile first
    page.goto(f"/{path}")
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

    print(f"\nBENCH pay_clicks {clicks} clicks")
    assert clicks <= MAX_CLICKS
    with scopes_disabled():
        assert Invoice.objects.get(pk=invoice.pk).status == "paid"
    assert SandboxCharge.objects.using("sandbox").filter(amount=125_000, status="succeeded").count() == 1
    assert page.console_errors == []  # no CSP violations either

    # Back on the invoice: paid, and nothing left to pay.
    page.get_by_role("link", name=f"Back to invoice {invoice.number}").click()
    expect(page.get_by_text("This invoice is paid. Thank you.")).to_be_visible()
    expect(page.get_by_role("link", name="Pay $1,250.00 with Visa •••• 4242")).to_have_count(0)
