"""Issue 21: the first hour of a new partner and of a paying customer, walked as a person would."""

import io
import json
import re

import pytest
from playwright.sync_api import expect

from partners.models import Role
from tests.browser.conftest import ARTIFACTS, open_page
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


def _email_the_demo_invoices() -> None:
    """Send every open demo invoice (as its Send button does), so the outbox has emails to read."""
    from django_scopes import scope, scopes_disabled

    from invoicing.models import Invoice, InvoiceStatus
    from reminders.services import invoice_send

    with scopes_disabled():
        invoices = list(Invoice.objects.filter(status__in=[InvoiceStatus.OPEN, InvoiceStatus.PAID]))
    for invoice in invoices:
        with scope(partner=invoice.partner):
            invoice_send(invoice=invoice, actor=None)


def test_every_partner_page_fits_a_phone_and_the_menu_opens(browser, live_server, settings):
    from django.core.management import call_command

    settings.EMAIL_BACKEND = "reminders.backends.OutboxEmailBackend"
    call_command("seed_demo", stdout=io.StringIO())
    _email_the_demo_invoices()
    context, page = open_page(browser, live_server, viewport=PHONE)
    sign_in(page, "demo@example.com", "demo-partner-2026")
    expect(page.get_by_role("heading", level=1)).to_have_text("Northwind IT Services")

    too_wide = {}
    for path in demo_partner_pages():
        response = page.goto(path)
        assert response.status == 200, path
        page.wait_for_function("() => window.__axeDone === true")
        page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
        scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        if scroll > inner:
            too_wide[path] = (scroll, page.evaluate(WIDEST))
    assert too_wide == {}, json.dumps(too_wide, indent=1)

    # The navigation is one "Menu" button; it opens the links and one of them goes where it says.
    page.goto("/dev/outbox/")
    expect(page.locator("tbody tr").first).to_be_visible()
    expect(page.get_by_text("$0.00 due")).to_have_count(0)  # a paid invoice's email says it is paid
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
    page.set_viewport_size({"width": 1280, "height": 800})  # on a desktop the links show and "Menu" does not
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Invoices")).to_be_visible()
    assert page.console_errors == []
    page.axe_check()  # every partner page, at phone size: no serious violation, no duplicate id
    assert {path for path, _ in page.scanned} >= set(demo_partner_pages())
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


def test_the_invoice_pages_money_forms_each_label_their_own_amount(page):
    """Charge, Record payment and Issue a credit note each have an Amount; each label names its own."""
    from tests.factories.invoicing import make_invoice
    from tests.factories.payments import card_for

    partner = PartnerFactory(name="Northwind IT Services")
    owner = member_of(partner, Role.OWNER).user
    customer = customer_for(partner, name="Alice Jones", company="Acme Corp", email="alice@acme.example")
    card_for(customer)
    invoice = make_invoice(partner, customer=customer)
    sign_in(page, owner.email)
    page.goto(f"/invoices/{invoice.pk}/")
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    ids = page.evaluate("[...document.querySelectorAll('[id]')].map(el => el.id)")
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    for form in page.locator("main form").all():
        for label in form.locator("label[for]").all():
            target = label.get_attribute("for")
            assert form.locator(f"#{target}").count() == 1, f"label for #{target} points outside its form"


def test_the_dev_outbox_shows_utc_as_it_says(page, settings):
    """Signed in as a partner in Chicago, the outbox still shows its times in UTC, as labelled."""
    import datetime

    from django_scopes import scopes_disabled

    from core.formats import format_moment
    from invoicing.models import PaymentOption
    from reminders.models import CapturedEmail
    from tests.factories.invoicing import make_invoice

    settings.EMAIL_BACKEND = "reminders.backends.OutboxEmailBackend"
    partner = PartnerFactory(name="Northwind IT Services", timezone="Pacific/Kiritimati")  # UTC+14
    owner = member_of(partner, Role.OWNER).user
    make_invoice(partner, payment_option=PaymentOption.EMAIL_PAYMENT_LINK)
    with scopes_disabled():
        sent = CapturedEmail.objects.get().created_at.astimezone(datetime.UTC)
    sign_in(page, owner.email)
    page.goto("/dev/outbox/")
    expect(page.get_by_role("columnheader", name="When (UTC)")).to_be_visible()
    expect(page.locator("tbody tr").first).to_contain_text(format_moment(sent))
    page.locator("tbody tr").first.get_by_role("link").click()
    expect(page.get_by_text(f"{format_moment(sent)} UTC")).to_be_visible()


def test_the_seeds_flow_emails_the_customer_once_and_send_asks_before_a_second_copy(page, settings):
    """Create invoice says before the click what each option will email; Charge later emails nothing
    at creation; Send emails it; Send again minutes later says so and asks first."""
    from django_scopes import scopes_disabled

    from reminders.models import CapturedEmail

    settings.EMAIL_BACKEND = "reminders.backends.OutboxEmailBackend"
    partner = PartnerFactory(name="Northwind IT Services")
    owner = member_of(partner, Role.OWNER).user
    customer_for(partner, name="Tom Wheeler", company="Wheeler Turning Works", email="tom@turning.example")
    sign_in(page, owner.email)
    page.get_by_role("link", name="Create invoice").click()
    page.get_by_role("searchbox", name="Customer").fill("turning")
    page.get_by_text("Wheeler Turning Works").click()
    expect(page.locator(".chosen")).to_contain_text("Wheeler Turning Works")
    options = page.get_by_role("group", name="Payment option")
    expect(options.get_by_label("Charge later")).to_have_accessible_description(
        re.compile(r"Emails: nothing now \(Send on the invoice emails it\); 6 reminders around the due date")
    )
    expect(options.get_by_label("Email payment link")).to_have_accessible_description(
        re.compile("Emails: the invoice with its pay link as you click Create invoice")
    )
    expect(options.get_by_label("Charge now")).to_have_accessible_description(
        re.compile("Emails: a receipt as soon as the charge succeeds; if it is declined, a notice")
    )
    page.get_by_label("Amount", exact=True).fill("120")
    page.get_by_role("button", name="Create invoice").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Invoice INV-0001")
    with scopes_disabled():
        assert CapturedEmail.objects.count() == 0  # Charge later: for the portal, no email yet

    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Sending INV-0001 to tom@turning.example.")).to_be_visible()
    expect(page.locator("#recently-emailed")).to_contain_text("Emailed 0\u00a0minutes ago")
    asked = []

    def dismiss(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.get_by_role("button", name="Send").click()
    assert asked == ["INV-0001 was emailed to tom@turning.example 0\u00a0minutes ago. Send it again?"]
    with scopes_disabled():
        assert CapturedEmail.objects.count() == 1
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Sending INV-0001 to tom@turning.example.")).to_be_visible()
    with scopes_disabled():
        assert CapturedEmail.objects.count() == 2


def test_after_create_invoice_the_pay_link_is_a_copy_button(browser, live_server):
    partner = PartnerFactory(name="Northwind IT Services")
    owner = member_of(partner, Role.OWNER).user
    customer = customer_for(partner, name="Alice Jones", company="Acme Corp", email="alice@acme.example")
    context, page = open_page(browser, live_server)
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(page, owner.email)
    page.goto(f"/invoices/new/?customer={customer.pk}")
    page.get_by_label("Amount", exact=True).fill("75")
    page.get_by_role("button", name="Create invoice").click()
    expect(page.get_by_text("Invoice INV-0001 created.")).to_be_visible()
    expect(page.locator(".flash", has_text="http")).to_have_count(0)  # no raw URL in a message
    link = page.get_by_label(re.compile("The customer's pay link"))
    expect(link).to_have_attribute("readonly", "")
    page.get_by_role("button", name="Copy link").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == link.input_value()
    assert re.fullmatch(r"http://[^/]+/pay/[A-Za-z0-9_-]{20,}/", copied)
    page.reload()
    expect(page.get_by_role("button", name="Copy link")).to_have_count(0)  # shown once
    page.goto(re.sub(r"^https?://[^/]+", "", copied))  # SITE_URL names the app's real address
    expect(page.get_by_role("heading", level=1)).to_have_text("Invoice INV-0001")
    page.axe_check()
    assert page.console_errors == []
    context.close()


def test_addresses_footer_and_pay_online_link_agree_on_pdf_pay_page_and_email(page, settings, tmp_path):
    import subprocess

    from django_scopes import scopes_disabled

    from reminders.models import CapturedEmail

    settings.EMAIL_BACKEND = "reminders.backends.OutboxEmailBackend"
    partner = PartnerFactory(
        name="Northwind IT Services",
        address_line1="200 Congress Ave",
        city="Austin",
        region="TX",
        postal_code="78701",
        country="US",
        default_footer="Payment terms: net 30. Thank you!",
        brand_colour="#0a7d3b",
    )
    owner = member_of(partner, Role.OWNER).user
    customer = customer_for(partner, name="Alice Jones", company="Acme Corp", email="alice@acme.example")
    sign_in(page, owner.email)
    page.goto(f"/invoices/new/?customer={customer.pk}")
    expect(page.get_by_label("Footer")).to_have_value("Payment terms: net 30. Thank you!")
    page.get_by_label("Amount", exact=True).fill("75")
    page.get_by_role("button", name="Create invoice").click()
    pay_path = re.sub(r"^https?://[^/]+", "", page.get_by_label(re.compile("pay link")).input_value())

    with page.expect_download() as download:
        page.get_by_role("link", name="Download PDF").click()
    pdf = tmp_path / "invoice.pdf"
    download.value.save_as(pdf)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Austin, TX 78701" in text
    assert "United States" in text
    assert re.search(r"Pay online at http://\S+/pay/\?invoice=INV-0001", text)
    assert "Payment terms: net 30. Thank you!" in text

    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Sending INV-0001")).to_be_visible()
    with scopes_disabled():
        email = CapturedEmail.objects.get()
    body = email.body("plain")
    assert "Payment terms: net 30. Thank you!" in body
    assert "Northwind IT Services, 200 Congress Ave, Austin, TX 78701, United States" in body

    page.goto(pay_path)
    expect(page.get_by_text("Payment terms: net 30. Thank you!")).to_be_visible()
    expect(page.locator(".portal-foot")).to_contain_text("200 Congress Ave, Austin, TX 78701, United States")

    page.goto(re.search(r"/pay/\?invoice=INV-0001", text).group(0))
    expect(page.get_by_label("Invoice number")).to_have_value("INV-0001")
    page.goto(f"/pay/{partner.slug}/account/sign-in/")  # the partner's own page: their colour
    button = page.get_by_role("button", name="Email me a sign-in link")
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(10, 125, 59)"  # #0a7d3b


def test_the_recurring_preview_says_then_it_ends_when_the_count_is_exactly_shown(page):
    partner = PartnerFactory(name="Northwind IT Services")
    owner = member_of(partner, Role.OWNER).user
    sign_in(page, owner.email)
    page.goto("/recurring/new/")
    page.get_by_text("After a number of invoices").click()
    count = page.get_by_role("spinbutton", name="Number of invoices")
    count.fill("7")
    count.blur()
    expect(page.get_by_test_id("preview-dates").locator("li")).to_have_count(6)
    expect(page.get_by_text("Then it ends.")).to_be_hidden()
    count.fill("6")
    count.blur()
    expect(page.get_by_text("Then it ends.")).to_be_visible()
    expect(page.get_by_test_id("preview-dates").locator("li")).to_have_count(6)


def test_the_invoice_page_leads_with_what_matters_now(page):
    from tests.factories.invoicing import make_invoice

    partner = PartnerFactory(name="Northwind IT Services", timezone="America/Chicago")
    owner = member_of(partner, Role.OWNER).user
    customer = customer_for(partner, name="Alice Jones", company="Acme Corp", email="alice@acme.example")
    invoice = make_invoice(partner, customer=customer, lines=[("Managed services", "1", 125_000, "0")])
    draft = make_invoice(partner, customer=customer, finalize=False)
    sign_in(page, owner.email)

    page.goto(f"/invoices/{invoice.pk}/")
    now = page.get_by_role("region", name="Now")
    expect(now.locator(".now-figure")).to_have_text("$1,250.00")
    expect(now.locator(".now-next")).to_contain_text(
        re.compile(r"Next\s+Reminder, 7 days before the due date, \w")
    )
    expect(now.get_by_role("button", name="Send")).to_be_visible()
    expect(now.get_by_role("link", name="Collect a payment")).to_be_visible()
    items = page.get_by_role("region", name="Items")
    assert now.bounding_box()["y"] < items.bounding_box()["y"]  # the lead comes first
    timeline = page.locator(".timeline")
    expect(timeline).to_be_hidden()  # the long history is one click away
    page.get_by_text(re.compile(r"Every change, email and payment \(\d+\)")).click()
    expect(timeline).to_contain_text("Finalized")

    page.goto(f"/invoices/{draft.pk}/")
    now = page.get_by_role("region", name="Now")
    expect(now.locator(".now-next")).to_contain_text("Finalize gives it a number")
    expect(now.get_by_role("button", name="Finalize invoice")).to_be_visible()
    expect(now.get_by_role("link", name="Edit")).to_be_visible()
    expect(now.get_by_role("button", name="Send")).to_have_count(0)


def test_create_invoice_previews_the_invoice_and_its_email_as_you_type(page):
    partner = PartnerFactory(name="Northwind IT Services")
    owner = member_of(partner, Role.OWNER).user
    customer_for(partner, name="Tom Wheeler", company="Wheeler Turning Works", email="tom@turning.example")
    sign_in(page, owner.email)
    page.goto("/invoices/new/")
    preview = page.get_by_role("complementary", name="Preview")
    expect(preview).to_contain_text("Bill to: choose a customer")
    page.get_by_role("searchbox", name="Customer").fill("turning")
    page.get_by_text("Wheeler Turning Works").click()
    expect(preview).to_contain_text("Bill to: Wheeler Turning Works · tom@turning.example")
    page.get_by_label("Amount", exact=True).fill("120")
    expect(preview.locator("[data-preview=amount-due]")).to_have_text("$120.00")
    page.get_by_label("Memo").fill("Lathe service, March")
    page.get_by_label("Memo").blur()
    expect(preview.locator(".preview-lines")).to_contain_text("Lathe service, March")
    expect(preview).to_contain_text("Emails: nothing now (Send on the invoice emails it)")

    page.get_by_label("Email payment link").check()
    expect(preview).to_contain_text("Email to tom@turning.example as you click Create invoice")
    expect(preview.locator(".preview-subject")).to_contain_text(
        "Invoice from Northwind IT Services: $120.00 due"
    )
    page.get_by_text("Itemize with lines").click()
    page.get_by_label("Line 1 description").fill("Spindle bearings")
    page.get_by_label("Line 1 quantity").fill("2")
    page.get_by_label("Line 1 unit price").fill("45")
    page.get_by_label("Line 1 unit price").blur()
    expect(preview.locator(".preview-lines")).to_contain_text("Spindle bearings")
    expect(preview.locator("[data-preview=amount-due]")).to_have_text("$90.00")

    form = page.locator("#invoice-form")
    assert preview.bounding_box()["x"] > form.bounding_box()["x"] + 300  # beside the form
    page.set_viewport_size({"width": 390, "height": 844})
    expect(preview).to_be_visible()
    assert preview.bounding_box()["y"] > form.bounding_box()["y"] + form.bounding_box()["height"] - 1  # below
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert page.console_errors == []


def test_pay_selected_starts_from_the_invoice_the_customer_came_for_and_dismissing_charges_nothing(
    page, settings
):
    from django_scopes import scope

    from payments.gateways.sandbox.models import SandboxCharge
    from reminders.link_emails import portal_sign_in_email
    from reminders.models import CapturedEmail
    from tests.factories.invoicing import make_invoice
    from tests.factories.payments import card_for

    settings.EMAIL_BACKEND = "reminders.backends.OutboxEmailBackend"
    partner = PartnerFactory(name="Northwind IT Services")
    customer = customer_for(partner, name="Alice Jones", company="Acme Corp", email="alice@acme.example")
    card_for(customer)
    invoices = [
        make_invoice(partner, customer=customer, lines=[("Item", "1", cents, "0")])
        for cents in (1_000, 2_000, 4_000, 8_000)
    ]
    with scope(partner=partner):
        portal_sign_in_email(partner=partner, email=customer.email)
    body = CapturedEmail.objects.get(to__contains=customer.email).body("plain")
    page.goto(re.search(r"https?://[^/\s]+(/pay/\S+/)", body).group(1))
    page.get_by_role("button", name="Continue to your account").click()
    page.goto(f"/pay/{partner.slug}/account/?invoice={invoices[2].pk}")  # came for the $40.00 one
    for invoice in invoices:
        expect(page.get_by_role("checkbox", name=invoice.number)).to_be_checked(
            checked=invoice == invoices[2]
        )
    button = page.locator("[data-pay-button]")
    expect(button).to_have_text("Pay $40.00")
    page.get_by_role("checkbox", name=invoices[0].number).check()
    expect(button).to_have_text("Pay $50.00 for 2 invoices")
    page.get_by_role("checkbox", name=invoices[3].number).check()
    expect(button).to_have_text("Pay $130.00 for 3 invoices")
    page.get_by_role("checkbox", name=invoices[0].number).uncheck()
    expect(button).to_have_text("Pay $120.00 for 2 invoices")
    page.once("dialog", lambda dialog: dialog.dismiss())
    button.click()
    expect(button).to_have_text("Pay $120.00 for 2 invoices")  # still here, nothing charged
    assert SandboxCharge.objects.using("sandbox").count() == 0
    page.once("dialog", lambda dialog: dialog.accept())
    button.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your payments")
    amounts = sorted(SandboxCharge.objects.using("sandbox").values_list("amount", flat=True))
    assert amounts == [4_000, 8_000]
