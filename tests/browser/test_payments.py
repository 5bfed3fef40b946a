import pytest
from django_scopes import scope, scopes_disabled
from playwright.sync_api import expect

from invoicing.models import Invoice
from partners.models import Role
from payments.gateways.base import CardDetails
from payments.gateways.sandbox.models import SandboxCharge
from payments.services import payment_method_add
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_dashboard import sign_in
from tests.conftest import member_of
from tests.factories import PartnerFactory
from tests.factories.invoicing import customer_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def create_invoice_charging_now(page, customer, amount: str) -> None:
    page.goto(f"/customers/{customer.pk}/")
    page.get_by_role("link", name="Create invoice").click()
    expect(page.locator(".chosen")).to_contain_text(customer.display_name)
    page.get_by_label("Amount", exact=True).fill(amount)
    page.get_by_label("Charge now").check()
    page.get_by_role("button", name="Create invoice").click()


def test_add_a_card_charge_now_pays_and_a_declining_card_leaves_the_invoice_open(page):
    partner = PartnerFactory(name="Northwind IT Services", timezone="America/Chicago")
    owner = member_of(partner, Role.OWNER).user
    acme = customer_for(partner, name="Alice Jones", company="Acme Corp", email="alice@acme.example")
    beta = customer_for(partner, name="Bob Smith", company="Beta LLC", email="bob@beta.example")
    with scope(partner=partner):
        payment_method_add(
            customer=beta,
            details=CardDetails(number="4000000000009995", exp_month=8, exp_year=2035, cvc="123"),
            make_default=True,
        )
    sign_in(page, owner.email)

    # A card added on the customer page.
    page.goto(f"/customers/{acme.pk}/")
    expect(page.get_by_text("Test mode")).to_be_visible()
    page.get_by_role("link", name="Add payment method").click()
    page.get_by_label("Cardholder name").fill("Alice Jones")
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry (MM/YY)").fill("12/30")
    page.get_by_label("CVC").fill("123")
    page.get_by_role("button", name="Save card").click()
    expect(page.get_by_text("Visa •••• 4242 saved for Acme Corp.")).to_be_visible()
    method = page.locator(".method", has_text="Visa •••• 4242")
    expect(method).to_contain_text("Expires 12/2030")
    expect(method).to_contain_text("Default")
    page.screenshot(path=str(ARTIFACTS / "payments_card_saved_on_customer_page.png"), full_page=True)

    # With Auto-Pay on, picking the customer makes Charge on due date the default option.
    page.get_by_role("button", name="Turn on Auto-Pay").click()
    expect(page.get_by_text("Auto-Pay is on.")).to_be_visible()
    page.goto("/invoices/new/")
    expect(page.get_by_label("Charge later")).to_be_checked()
    page.get_by_role("searchbox", name="Customer").fill("acme")
    page.get_by_text("Acme Corp").click()
    expect(page.locator(".chosen")).to_contain_text("Acme Corp")
    expect(page.get_by_label("Charge on due date")).to_be_checked()

    # Charge now: the card is charged when the invoice is created, and it is paid.
    create_invoice_charging_now(page, acme, "250")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Invoice INV-0001")
    expect(page.locator("h1 .status")).to_have_text("Paid")
    expect(page.locator(".attempts")).to_contain_text("Succeeded")
    page.screenshot(path=str(ARTIFACTS / "payments_charge_now_paid.png"), full_page=True)

    # A declining card: the reason shows and the invoice stays open.
    create_invoice_charging_now(page, beta, "80")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Invoice INV-0002")
    expect(page.locator(".attempts")).to_contain_text("The card has insufficient funds.")
    expect(page.locator("h1 .status")).to_have_text("Open")
    expect(page.get_by_text("A retry is scheduled")).to_be_visible()

    with scopes_disabled():
        statuses = dict(Invoice.objects.values_list("number", "status"))
    assert statuses == {"INV-0001": "paid", "INV-0002": "open"}
    charged = sorted(SandboxCharge.objects.using("sandbox").values_list("amount", "status"))
    assert charged == [(8_000, "failed"), (25_000, "succeeded")]
    assert page.console_errors == []
