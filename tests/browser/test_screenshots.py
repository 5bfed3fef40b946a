"""Screenshots of the main pages with the demo data, at desktop (1280x800) and phone (390x844) sizes.

    SCREENSHOTS_DIR=docs/screenshots make test ARGS="tests/browser/test_screenshots.py"

refreshes the ones README.md links to; without SCREENSHOTS_DIR they go to test-artifacts/screenshots/.
Each page must answer 200 and fit its width (no sideways scrolling), or the test fails.
"""

import io
import os
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django_scopes import scope, scopes_disabled
from playwright.sync_api import expect

from customers.models import Customer
from invoicing.models import Invoice, InvoiceStatus
from payments.portal.services import pay_link_issue
from tests.browser.conftest import ARTIFACTS, open_page
from tests.browser.test_dashboard import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


def demo_pages() -> dict[str, str]:
    with scopes_disabled():
        partner_invoices = Invoice.objects.filter(partner__name="Northwind IT Services")
        invoice = partner_invoices.filter(status=InvoiceStatus.OPEN, amount_paid=0).order_by("pk").first()
        customer = Customer.objects.filter(partner__name="Northwind IT Services").order_by("pk").first()
    with scope(partner=invoice.partner):
        pay_url = pay_link_issue(invoice=invoice)
    return {
        "home": "/",
        "invoices": "/invoices/",
        "create-invoice": "/invoices/new/",
        "invoice": f"/invoices/{invoice.pk}/",
        "customer": f"/customers/{customer.pk}/",
        "pay-page": re.sub(r"^https?://[^/]+", "", pay_url),
    }


@pytest.mark.parametrize("size", SIZES)
def test_screenshots_of_the_main_pages(browser, live_server, size):
    call_command("seed_demo", stdout=io.StringIO())
    folder = Path(os.environ.get("SCREENSHOTS_DIR") or ARTIFACTS / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    context, page = open_page(browser, live_server, viewport=SIZES[size])
    sign_in(page, "demo@example.com", "demo-partner-2026")
    expect(page.get_by_role("heading", level=1)).to_have_text("Northwind IT Services")
    for name, path in demo_pages().items():
        response = page.goto(path)
        assert response.status == 200, path
        page.wait_for_function("() => window.__axeDone === true")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path
        page.screenshot(path=str(folder / f"{name}-{size}.png"))
    page.axe_check()
    context.close()
