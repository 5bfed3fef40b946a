import re

import pytest
from playwright.sync_api import expect

from partners.models import Membership, Role
from tests.conftest import member_of
from tests.factories import PASSWORD, PartnerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, email, password=PASSWORD):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_a_partner_signs_in_and_sees_their_dashboard(page):
    partner = PartnerFactory(name="Northwind IT Services")
    owner = member_of(partner, Role.OWNER, email="dana@northwind.example").user
    sign_in(page, owner.email)
    expect(page.get_by_role("heading", level=1)).to_have_text("Northwind IT Services")
    nav = page.get_by_role("navigation", name="Main")
    for item in ("Invoices", "Recurring payments", "Customers", "Settings"):
        expect(nav.get_by_role("link", name=item)).to_be_visible()
    expect(page.get_by_role("link", name="Create invoice")).to_be_visible()
    expect(page.get_by_role("link", name="Add recurring payment")).to_be_visible()
    assert page.console_errors == []  # a CSP violation or script error would show here


def test_a_wrong_password_shows_the_error_and_keeps_the_email(page):
    partner = PartnerFactory()
    owner = member_of(partner, Role.OWNER).user
    sign_in(page, owner.email, "wrong-password")
    expect(page.get_by_role("alert")).to_contain_text("don't match an account")
    expect(page.get_by_label("Email")).to_have_value(owner.email)


def test_an_owner_invites_a_colleague_who_joins_from_the_emailed_link(page, settings, live_server):
    settings.EMAIL_BACKEND = "reminders.backends.OutboxEmailBackend"
    settings.SITE_URL = live_server.url
    partner = PartnerFactory(name="Northwind IT Services")
    owner = member_of(partner, Role.OWNER).user
    sign_in(page, owner.email)
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("link", name="Team").click()
    page.get_by_label("Email address").fill("sam@example.com")
    page.get_by_label("Role").select_option("admin")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Invitation sent to sam@example.com")).to_be_visible()
    expect(page.get_by_text("sam@example.com as Admin")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    page.goto("/dev/outbox/")
    page.get_by_role("link", name=re.compile("invited you to Northwind")).click()
    page.frame_locator("iframe.email-frame").get_by_role("link", name="Accept invitation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Join Northwind IT Services")
    page.get_by_label("Your name").fill("Sam Smith")
    page.get_by_label("Choose a password").fill("a-long-enough-passphrase")
    page.get_by_role("button", name="Create account and join").click()
    expect(page.get_by_text("Welcome to Northwind IT Services")).to_be_visible()
    assert Membership.objects.with_scopes_disabled().get(user__email="sam@example.com").role == Role.ADMIN


def test_a_person_in_two_businesses_switches_with_the_switcher(page):
    first = PartnerFactory(name="Alpha Networks")
    second = PartnerFactory(name="Beta Cloud")
    owner = member_of(first, Role.OWNER).user
    Membership.objects.create(partner=second, user=owner, role=Role.READ_ONLY)
    sign_in(page, owner.email)
    expect(page.get_by_role("heading", level=1)).to_have_text("Alpha Networks")
    # The switcher submits on change from app.js (deferred): changed before it runs, nothing listens.
    page.wait_for_load_state("load")
    page.get_by_label("Business").select_option(label="Beta Cloud")
    expect(page.get_by_role("heading", level=1)).to_have_text("Beta Cloud")
    expect(page.locator(".whoami")).to_contain_text("Read-only")
