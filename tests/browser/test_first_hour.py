"""Issue 21: the first hour of a new partner and of a paying customer, walked as a person would."""

import io
import json

import pytest
from playwright.sync_api import expect

from partners.models import Role
from tests.browser.conftest import ARTIFACTS
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


PHONE = {"width": 390, "height": 844}
WIDEST = """() => {
    const width = window.innerWidth;
    const right = el => Math.round(el.getBoundingClientRect().right);
    return [...document.querySelectorAll("body *")]
        .filter(el => right(el) > width + 1 && !el.closest(".table-wrap, .visually-hidden"))
        .slice(0, 5).map(el => `${el.tagName.toLowerCase()}.${el.className} right=${right(el)}`);
}"""


def demo_partner_pages() -> list[str]:
    """Every page a partner opens, with the demo data's rows in its tables."""
    from django_scopes import scopes_disabled

    from customers.models import Customer
    from invoicing.models import Invoice, InvoiceStatus, RecurringSchedule
    from reminders.models import CapturedEmail

    with scopes_disabled():
        invoices = Invoice.objects.filter(partner__name="Northwind IT Services")
        draft = invoices.filter(status=InvoiceStatus.DRAFT).first()
        opened = invoices.exclude(status=InvoiceStatus.DRAFT).order_by("pk")
        customer = Customer.objects.filter(partner__name="Northwind IT Services").first()
        schedule = RecurringSchedule.objects.filter(partner__name="Northwind IT Services").first()
        email = CapturedEmail.objects.order_by("pk").first()
    pages = [
        "/",
        "/invoices/",
        "/invoices/new/",
        *(f"/invoices/{invoice.pk}/" for invoice in opened[:4]),
        f"/invoices/{draft.pk}/",
        f"/invoices/{draft.pk}/edit/",
        "/recurring/",
        "/recurring/new/",
        "/customers/",
        "/customers/new/",
        f"/customers/{customer.pk}/",
        f"/customers/{customer.pk}/edit/",
        f"/customers/{customer.pk}/payment-methods/new/",
        "/reports/",
        "/reports/aging/",
        "/activity/",
        "/upcoming/",
        "/settings/",
        "/settings/team/",
        "/settings/invoicing/",
        "/settings/notifications/",
        "/settings/notifications/preview/",
        "/dev/outbox/",
    ]
    if schedule:
        pages += [f"/recurring/{schedule.pk}/", f"/recurring/{schedule.pk}/edit/"]
    if email:
        pages.append(f"/dev/outbox/{email.pk}/")
    return pages


def test_every_partner_page_fits_a_phone_and_the_menu_opens(browser, live_server, settings):
    from django.core.management import call_command

    settings.EMAIL_BACKEND = "reminders.backends.OutboxEmailBackend"
    call_command("seed_demo", stdout=io.StringIO())
    context = browser.new_context(base_url=live_server.url, viewport=PHONE)
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    sign_in(page, "demo@example.com", "demo-partner-2026")
    expect(page.get_by_role("heading", level=1)).to_have_text("Northwind IT Services")

    too_wide = {}
    for path in demo_partner_pages():
        response = page.goto(path)
        assert response.status == 200, path
        page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
        scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        if scroll > inner:
            too_wide[path] = (scroll, page.evaluate(WIDEST))
    assert too_wide == {}, json.dumps(too_wide, indent=1)

    # The navigation is one "Menu" button; it opens the links and one of them goes where it says.
    page.goto("/")
    nav_links = page.get_by_role("navigation", name="Main").get_by_role("link", name="Customers")
    expect(nav_links).to_be_hidden()
    menu = page.get_by_role("button", name="Menu")
    expect(menu).to_have_attribute("aria-expanded", "false")
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(nav_links).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "phone-menu-open.png"))
    nav_links.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Customers")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Customers")).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert errors == []
    context.close()


def zone_where_it_is_night() -> str:
    """A time zone where it is 3 in the morning now: outside any sending hours."""
    import datetime

    utc_hour = datetime.datetime.now(datetime.UTC).hour
    offset = (3 - utc_hour + 12) % 24 - 12  # -12..11 hours east of UTC
    return "Etc/GMT" + ("" if offset == 0 else f"{-offset:+d}")  # Etc/GMT-5 is five hours east


def test_a_declined_charge_now_is_answered_at_once_and_truthfully(page, settings):
    """At 3 a.m. the partner creates an invoice with Charge now; the card declines. The customer hears
    at once that it failed (never "being charged, nothing to do"), Home counts the failed charge, and a
    Charge now that succeeds is answered by its receipt at once, also at night."""
    from tests.factories.payments import DECLINED_CARD, card_for

    settings.EMAIL_BACKEND = "reminders.backends.OutboxEmailBackend"
    partner = PartnerFactory(name="Northwind IT Services", timezone=zone_where_it_is_night())
    owner = member_of(partner, Role.OWNER).user
    beta = customer_for(partner, name="Bob Smith", company="Beta LLC", email="bob@beta.example")
    card_for(beta, DECLINED_CARD)
    acme = customer_for(partner, name="Alice Jones", company="Acme Corp", email="alice@acme.example")
    card_for(acme)
    sign_in(page, owner.email)

    page.goto(f"/customers/{beta.pk}/")
    page.get_by_role("link", name="Create invoice").click()
    page.get_by_label("Amount", exact=True).fill("80")
    page.get_by_label("Charge now").check()
    page.get_by_role("button", name="Create invoice").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Invoice INV-0001")
    expect(page.locator(".attempts")).to_contain_text("The card has insufficient funds.")

    page.goto("/")
    attention = page.locator(".figure", has_text="Failed charges needing attention")
    expect(attention).to_contain_text("1 invoice")
    expect(attention).to_contain_text("$80.00")
    expect(page.get_by_role("link", name="1 invoice whose last charge failed")).to_be_visible()
    page.get_by_role("link", name="1 invoice whose last charge failed").click()
    expect(page.locator("#invoice-results")).to_contain_text("INV-0001")

    page.goto("/dev/outbox/")
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(2)  # newest first: the customer's notice, then the partner's alert
    expect(rows.nth(0)).to_contain_text("bob@beta.example")
    expect(rows.nth(0)).to_contain_text(
        "Your payment for invoice INV-0001 from Northwind IT Services didn't go through"
    )
    expect(rows.nth(1)).to_contain_text("Charge failed: invoice INV-0001")
    rows.nth(0).get_by_role("link").click()
    text = page.locator(".email-text")
    expect(text).to_contain_text(
        "We tried to charge Visa •••• 9995 $80.00, and it failed: The card has insufficient funds."
    )
    expect(text).to_contain_text("pay now or use another payment method")
    expect(text).not_to_contain_text("nothing you need to do")

    page.goto(f"/customers/{acme.pk}/")
    page.get_by_role("link", name="Create invoice").click()
    page.get_by_label("Amount", exact=True).fill("250")
    page.get_by_label("Charge now").check()
    page.get_by_role("button", name="Create invoice").click()
    expect(page.locator("h1 .status")).to_have_text("Paid")
    emails = page.locator("#emails")
    expect(emails).to_contain_text("Receipt for invoice INV-0002")
    page.goto("/dev/outbox/")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("alice@acme.example")
    expect(rows.nth(0)).to_contain_text("Receipt for invoice INV-0002 from Northwind IT Services")
    assert page.console_errors == []
