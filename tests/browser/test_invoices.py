import re
import subprocess

import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from invoicing.models import Invoice
from partners.models import Role
from tests.browser.test_dashboard import sign_in
from tests.conftest import member_of
from tests.factories import PartnerFactory
from tests.factories.invoicing import make_invoice

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_create_a_customer_inline_and_an_itemized_invoice_then_download_its_pdf(page, tmp_path):
    partner = PartnerFactory(name="Northwind IT Services", timezone="America/Chicago")
    owner = member_of(partner, Role.OWNER).user
    sign_in(page, owner.email)
    page.get_by_role("link", name="Create invoice").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Create invoice")

    page.get_by_text("Add a new customer").click()
    page.get_by_label("Name", exact=True).fill("Grace Hopper")
    page.get_by_label("Company").fill("Navy Labs")
    page.get_by_label("Email", exact=True).fill("grace@navy.example")

    page.get_by_text("Itemize with lines").click()
    page.get_by_label("Line 1 description").fill("Laptop")
    page.get_by_label("Line 1 quantity").fill("2")
    page.get_by_label("Line 1 unit price").fill("999.99")
    page.get_by_label("Line 1 tax rate").fill("8.25")
    totals = page.locator("#invoice-totals")
    expect(totals.locator("[data-total=total]")).to_have_text("$2,164.98")  # 1,999.98 + 165.00 tax
    page.get_by_label("Line 2 description").fill("Setup")
    page.get_by_label("Line 2 unit price").fill("150")
    expect(totals.locator("[data-total=subtotal]")).to_have_text("$2,149.98")
    expect(totals.locator("[data-total=total]")).to_have_text("$2,314.98")

    page.get_by_role("button", name="Create invoice").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Invoice INV-0001")
    expect(page.get_by_text("Open", exact=True)).to_be_visible()

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download PDF").click()
    pdf_path = tmp_path / "invoice.pdf"
    download_info.value.save_as(pdf_path)
    assert pdf_path.read_bytes().startswith(b"%PDF")
    text = subprocess.run(
        ["pdftotext", str(pdf_path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "INV-0001" in text
    assert "$2,314.98" in text
    assert "Navy Labs" in text
    with scopes_disabled():
        assert Invoice.objects.get().total == 231_498
    assert page.console_errors == []


def test_choosing_an_existing_customer_by_typing_and_a_validation_error(page):
    partner = PartnerFactory(name="Northwind IT Services")
    owner = member_of(partner, Role.OWNER).user
    from tests.factories.invoicing import customer_for

    customer_for(partner, name="Alice Jones", company="Acme Corp", email="alice@acme.example")
    customer_for(partner, name="Bob Smith", company="Other Co", email="bob@other.example")
    sign_in(page, owner.email)
    page.goto("/invoices/new/")
    page.get_by_role("searchbox", name="Customer").fill("acme")
    page.get_by_text("Acme Corp").click()
    expect(page.locator(".chosen")).to_contain_text("Acme Corp")
    page.get_by_label("Amount", exact=True).fill("0")
    page.get_by_role("button", name="Create invoice").click()
    expect(page.get_by_text("The amount must be greater than zero.")).to_be_visible()
    expect(page.get_by_label("Amount", exact=True)).to_have_value("0")
    expect(page.locator(".chosen")).to_contain_text("Acme Corp")  # the choice survived the error
    page.get_by_label("Amount", exact=True).fill("75")
    page.get_by_role("button", name="Create invoice").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(re.compile(r"Invoice INV-0001"))


def test_add_line_keeps_the_rows_typed_and_a_bad_price_is_named_beside_its_cell(page):
    partner = PartnerFactory(name="Northwind IT Services")
    owner = member_of(partner, Role.OWNER).user
    from tests.factories.invoicing import customer_for

    customer_for(partner, name="Alice Jones", company="Acme Corp", email="alice@acme.example")
    sign_in(page, owner.email)
    page.goto("/invoices/new/")
    page.get_by_role("searchbox", name="Customer").fill("acme")
    page.get_by_text("Acme Corp").click()
    page.get_by_text("Itemize with lines").click()
    for row in (1, 2, 3):
        page.get_by_label(f"Line {row} description").fill(f"Item {row}")
        page.get_by_label(f"Line {row} unit price").fill("10")
    page.get_by_role("button", name="Add line").click()
    page.get_by_label("Line 4 description").fill("Item 4")
    page.get_by_label("Line 4 unit price").fill("1.999")
    expect(page.get_by_label("Line 1 description")).to_have_value("Item 1")
    page.get_by_role("button", name="Create invoice").click()
    price = page.get_by_label("Line 4 unit price")
    expect(price).to_have_value("1.999")
    expect(price).to_have_accessible_description(re.compile("USD amounts have at most 2 decimals."))
    expect(page.get_by_label("Line 3 description")).to_have_value("Item 3")
    price.fill("2")
    page.get_by_role("button", name="Create invoice").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Invoice INV-0001")
    with scopes_disabled():
        assert Invoice.objects.get().total == 3_200
    assert page.console_errors == []


def test_a_money_actions_form_is_drawn_when_its_panel_opens_and_records_the_payment(page):
    partner = PartnerFactory(name="Northwind IT Services")
    owner = member_of(partner, Role.OWNER).user
    invoice = make_invoice(partner, lines=[("Audit", "1", 25_000, "0")])
    sign_in(page, owner.email)
    page.goto(f"/invoices/{invoice.pk}/")
    panel = page.locator("details", has_text="Record an offline payment")
    expect(panel.get_by_label("Amount")).to_have_count(0)  # not drawn until opened
    panel.locator("summary").click()
    expect(panel.get_by_label("Amount")).to_have_value("250.00")
    panel.get_by_label("Reference").fill("Check 1001")
    panel.get_by_role("button", name="Record payment").click()
    expect(page.get_by_text("Payment recorded.")).to_be_visible()
    expect(page.get_by_text("Paid", exact=True).first).to_be_visible()
    assert page.console_errors == []
