"""Issue 21: the first hour of a new partner and of a paying customer, walked as a person would."""

import pytest
from playwright.sync_api import expect

from partners.models import Role
from tests.browser.test_dashboard import sign_in
from tests.conftest import member_of
from tests.factories import PartnerFactory
from tests.factories.invoicing import customer_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("path", ["/invoices/new/", "/recurring/new/"])
def test_a_mistyped_customer_search_can_be_corrected(page, path):
    """The search answers every time it is typed, not just the first (its results used to replace their
    own container, so the next answer had nowhere to go)."""
    partner = PartnerFactory(name="Northwind IT Services")
    owner = member_of(partner, Role.OWNER).user
    customer_for(partner, name="Tom Wheeler", company="Wheeler Turning Works", email="tom@turning.example")
    sign_in(page, owner.email)
    page.goto(path)
    search = page.get_by_role("searchbox", name="Customer")
    search.press_sequentially("turnig", delay=30)
    expect(page.get_by_text("No customer matches “turnig”")).to_be_visible()
    search.fill("turn")
    expect(page.get_by_text("Wheeler Turning Works")).to_be_visible()
    search.press_sequentially("ing", delay=30)
    expect(page.get_by_text("Wheeler Turning Works")).to_be_visible()
    search.fill("nobody")
    expect(page.get_by_text("No customer matches “nobody”")).to_be_visible()
    search.fill("turning")
    page.get_by_text("Wheeler Turning Works").click()
    expect(page.locator(".chosen")).to_contain_text("Wheeler Turning Works")
    assert [e for e in page.console_errors if "targetError" in e] == []
    assert page.console_errors == []
