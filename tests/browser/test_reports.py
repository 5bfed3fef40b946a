import datetime
import re

import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from invoicing.models import Invoice
from partners.models import Role
from tests.browser.test_dashboard import sign_in
from tests.conftest import member_of
from tests.factories import PartnerFactory
from tests.factories.invoicing import customer_for, make_invoice

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def overdue(invoice: Invoice, days: int) -> Invoice:
    with scopes_disabled():
        Invoice.objects.filter(pk=invoice.pk).update(
            due_date=invoice.partner.today() - datetime.timedelta(days=days)
        )
    return invoice


def test_from_a_dashboard_figure_and_an_aging_cell_to_exactly_those_invoices(page):
    partner = PartnerFactory(name="Northwind IT Services", timezone="Pacific/Auckland")
    owner = member_of(partner, Role.OWNER).user
    with scopes_disabled():
        ada, grace = customer_for(partner, name="Ada Lovelace"), customer_for(partner, name="Grace Hopper")
        late = overdue(make_invoice(partner, customer=ada, lines=[("Audit", "1", 120_000, "0")]), 45)
        very_late = overdue(make_invoice(partner, customer=grace, lines=[("Backup", "1", 30_000, "0")]), 100)
        upcoming = make_invoice(partner, customer=ada, due_in_days=3, lines=[("Support", "1", 5_000, "0")])
        make_invoice(partner, customer=grace, currency="EUR", lines=[("Licences", "1", 99_900, "0")])

    sign_in(page, owner.email)
    overdue_figure = page.get_by_role("link", name=re.compile(r"Overdue \$1,500\.00 2 invoices past due"))
    expect(overdue_figure).to_be_visible()
    expect(page.get_by_role("link", name=re.compile(r"^Outstanding €999\.00 1 open invoice"))).to_be_visible()
    expect(
        page.get_by_role("link", name=re.compile(r"^Due in the next 7 days \$50\.00 1 invoice"))
    ).to_be_visible()
    assert page.console_errors == []  # no CSP violation from the figures or their stylesheet

    overdue_figure.click()
    expect(page).to_have_url(re.compile(r"/invoices/\?tab=overdue&currency=USD"))
    rows = page.locator("#invoice-results tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text=late.number)).to_have_count(1)
    expect(rows.filter(has_text=very_late.number)).to_have_count(1)
    expect(page.get_by_text(upcoming.number)).to_have_count(0)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", name="Accounts-receivable aging")).to_be_visible()
    expect(page.get_by_role("img", name="Aging of USD receivables")).to_be_visible()
    expect(page.locator("svg text", has_text="$1,200.00 · 1 invoice")).to_be_visible()  # value on the bar
    page.get_by_role("link", name="USD aging by customer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("USD aging by customer")
    grace_row = page.get_by_role("row", name=re.compile("Grace Hopper"))
    grace_row.get_by_role("link", name="$300.00").first.click()
    expect(page.locator("#invoice-results tbody tr")).to_have_count(1)
    expect(page.locator("#invoice-results")).to_contain_text(very_late.number)
    expect(page.get_by_text("Showing invoices of Grace Hopper")).to_be_visible()
    assert page.console_errors == []
