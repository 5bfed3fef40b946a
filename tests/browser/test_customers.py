import re

import pytest
from playwright.sync_api import expect

from partners.models import Role
from tests.browser.test_dashboard import sign_in
from tests.conftest import member_of
from tests.factories import CustomerFactory, PartnerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_member_adds_a_customer_and_finds_them_by_typing_in_the_search_box(page):
    partner = PartnerFactory(name="Northwind IT Services")
    CustomerFactory(partner=partner, name="Omar Haddad", company="Globex", email="omar@globex.example")
    member = member_of(partner, Role.MEMBER).user
    sign_in(page, member.email)
    nav = page.get_by_role("navigation", name="Main")

    nav.get_by_role("link", name="Customers").click()
    page.get_by_role("link", name="Add customer").click()
    page.get_by_label("Contact name").fill("Jane Fielding")
    page.get_by_label("Company").fill("Acme Robotics")
    page.get_by_label(re.compile(r"^Email")).fill("Jane@Acme.example")
    page.get_by_label("CC emails").fill("ap@acme.example")
    page.get_by_role("button", name="Add customer").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Acme Robotics")
    expect(page.get_by_text("Acme Robotics added.")).to_be_visible()
    expect(page.get_by_text("jane@acme.example")).to_be_visible()
    expect(page.get_by_text("No saved payment methods.")).to_be_visible()

    nav.get_by_role("link", name="Customers").click()
    expect(page.get_by_role("link", name="Omar Haddad")).to_be_visible()
    expect(page.get_by_role("link", name="Jane Fielding")).to_be_visible()

    page.evaluate("window.stillTheSamePage = true")
    page.get_by_label("Search customers").press_sequentially("fiel")
    expect(page.get_by_role("link", name="Omar Haddad")).to_have_count(0)
    expect(page.get_by_role("link", name="Jane Fielding")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/customers/\?q=fiel"))
    assert page.evaluate("window.stillTheSamePage") is True  # filtered in place, no page load

    page.get_by_role("link", name="Jane Fielding").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Acme Robotics")
    page.go_back()
    expect(page.get_by_label("Search customers")).to_have_value("fiel")
    expect(page.get_by_role("link", name="Omar Haddad")).to_have_count(0)
    assert page.console_errors == []  # a CSP violation or script error would show here
