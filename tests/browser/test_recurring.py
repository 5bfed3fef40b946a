import datetime
import io

import pytest
from django.core.management import call_command
from django_scopes import scope, scopes_disabled
from playwright.sync_api import expect

from invoicing.models import Invoice
from partners.models import Role
from payments.services import customer_set_autopay
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_dashboard import sign_in
from tests.conftest import member_of
from tests.factories import PartnerFactory
from tests.factories.invoicing import customer_for
from tests.factories.payments import card_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shown(day: datetime.date) -> str:
    return f"{day:%a, %b} {day.day}, {day.year}"


def test_add_a_recurring_payment_see_the_preview_run_the_job_and_see_the_first_invoice(page):
    partner = PartnerFactory(name="Northwind IT Services", timezone="America/Chicago")
    owner = member_of(partner, Role.OWNER).user
    acme = customer_for(partner, name="Alice Jones", company="Acme Corp", email="alice@acme.example")
    card_for(acme)
    with scope(partner=partner):
        customer_set_autopay(customer=acme, enabled=True)
    today = partner.today()

    sign_in(page, owner.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Recurring payments").click()
    expect(page.get_by_text("No recurring payments yet.")).to_be_visible()
    page.get_by_role("link", name="Add recurring payment").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add recurring payment")

    # Picking an Auto-Pay customer makes Charge on due date the default, as on "Create invoice".
    expect(page.get_by_label("Charge later")).to_be_checked()
    page.get_by_role("searchbox", name="Customer").fill("acme")
    page.get_by_text("Acme Corp").click()
    expect(page.locator(".chosen")).to_contain_text("Acme Corp")
    expect(page.get_by_label("Charge on due date")).to_be_checked()
    page.get_by_label("Amount", exact=True).fill("49.00")

    # The preview: monthly from today, then every 2 weeks once the frequency changes.
    preview = page.locator("#recurring-preview li")
    expect(preview).to_have_count(6)
    expect(preview.first).to_have_text(shown(today))
    page.get_by_label("Frequency").select_option(label="Every N weeks")
    page.get_by_label("Every how many weeks or months").fill("2")
    page.get_by_label("Days until due").fill("10")
    expect(preview.nth(1)).to_have_text(shown(today + datetime.timedelta(weeks=2)))
    expect(preview.nth(5)).to_have_text(shown(today + datetime.timedelta(weeks=10)))
    page.get_by_text("After a number of invoices").click()
    count = page.get_by_role("spinbutton", name="Number of invoices")
    count.fill("3")
    count.blur()
    expect(preview).to_have_count(3)
    expect(page.get_by_text("Then it ends.")).to_be_visible()

    page.get_by_role("button", name="Add recurring payment").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Recurring payment for Acme Corp")
    expect(page.get_by_text("Every 2 weeks on")).to_be_visible()
    expect(page.get_by_test_id("upcoming-dates").locator("li").first).to_have_text(shown(today))
    expect(page.get_by_text("None yet.")).to_be_visible()

    # The job, as beat runs it every minute: today's period is due in Chicago.
    out = io.StringIO()
    call_command("issue_recurring", stdout=out)
    assert out.getvalue().startswith("1 issued")

    page.reload()
    issued = page.get_by_role("region", name="Invoices issued")
    expect(issued.get_by_role("link", name="INV-0001")).to_be_visible()
    expect(issued).to_contain_text("Open")
    expect(issued).to_contain_text("$49.00")
    expect(page.get_by_test_id("upcoming-dates").locator("li")).to_have_count(2)
    page.screenshot(path=str(ARTIFACTS / "recurring_first_invoice.png"), full_page=True)

    issued.get_by_role("link", name="INV-0001").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Invoice INV-0001")
    expect(page.get_by_text("Issued by a recurring payment for the period of")).to_be_visible()
    with scopes_disabled():
        invoice = Invoice.objects.get()
    assert invoice.due_date == today + datetime.timedelta(days=10)
    assert invoice.next_charge_at is not None  # Charge on due date, scheduled as for a hand-made invoice
    assert page.console_errors == [], page.console_errors
