"""axe-core scans of the customer's pages: the hosted invoice page, the payment form (also with errors
showing), the confirm step, and the account portal (sign-in, invoices, payment methods, billing details).
No serious or critical violation is allowed.

axe-core comes from npm, pinned, installed outside the repository without a lockfile:
    npm install --no-save --no-package-lock --prefix .cache/axe axe-core@4.10.2
(.ci/run does this). Without it a laptop run skips loudly; in CI (CI=true) the test fails.

The page's Content-Security-Policy forbids inline scripts, which is how Playwright injects one, so this
test's browser context alone bypasses CSP; tests/test_security_headers.py checks the policy itself.
"""

import json
import os
import re
import sys
from pathlib import Path

import pytest
from django_scopes import scope
from playwright.sync_api import expect

from reminders.link_emails import portal_sign_in_email
from reminders.models import CapturedEmail
from tests.factories import PartnerFactory
from tests.factories.invoicing import customer_for, make_invoice
from tests.factories.payments import card_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE_INSTALL = "npm install --no-save --no-package-lock --prefix .cache/axe axe-core@4.10.2"
AXE = Path(
    os.environ.get("AXE_CORE_PATH")
    or Path(__file__).resolve().parents[2] / ".cache/axe/node_modules/axe-core/axe.min.js"
)
BLOCKING = {"serious", "critical"}


@pytest.fixture
def axe_page(browser, live_server, settings):
    if not AXE.exists():
        message = f"NO AXE-CORE at {AXE}: run `{AXE_INSTALL}`."
        if os.environ.get("CI"):
            pytest.fail(message)
        print(f"\n\n*** {message} SKIPPING THE ACCESSIBILITY SCAN. ***\n", file=sys.stderr)
        pytest.skip(message)
    settings.EMAIL_BACKEND = "reminders.backends.OutboxEmailBackend"
    context = browser.new_context(
        base_url=live_server.url, bypass_csp=True, viewport={"width": 390, "height": 844}
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def scan(page, what: str) -> None:
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))
        }))"""
    )
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    others = [f"{v['id']} ({v['impact']})" for v in violations if v["impact"] not in BLOCKING]
    print(f"\naxe {what}: {len(blocking)} serious/critical; others: {', '.join(others) or 'none'}")
    assert blocking == [], f"{what}:\n" + json.dumps(blocking, indent=2)


def test_the_scan_finds_what_it_should(axe_page):
    """The harness itself: an unlabelled input and an image without alt text are caught."""
    axe_page.set_content('<html lang="en"><body><main><img src="data:,"><input></main></body></html>')
    with pytest.raises(AssertionError, match="image-alt") as failed:
        scan(axe_page, "a deliberately broken page")
    assert '"id": "label"' in str(failed.value)


def test_the_customers_pages_have_no_serious_accessibility_violations(axe_page):
    page = axe_page
    partner = PartnerFactory(name="Northwind IT Services", brand_colour="#0a7d3b")
    customer = customer_for(partner, name="Alice Jones", company="Acme Corp", email="alice@acme.example")
    card_for(customer)
    invoice = make_invoice(partner, customer=customer, lines=[("Managed services", "1", 125_000, "0")])
    make_invoice(partner, customer=customer, lines=[("Backups", "1", 9_900, "0")])
    token = invoice.fresh_pay_url.rstrip("/").rsplit("/", 1)[-1]

    page.goto(f"/pay/{token}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Invoice {invoice.number}")
    scan(page, "hosted invoice page with the payment form")

    page.goto(f"/pay/{token}/?kind=bank_account")
    scan(page, "payment form, bank account")

    page.goto(f"/pay/{token}/")
    page.get_by_label("Card number").fill("4242 4242 4242 4241")
    page.get_by_label("Expiry (MM/YY)").fill("12/34")
    page.get_by_role("button", name=re.compile(r"^Pay \$1,250\.00$")).click()
    expect(
        page.get_by_text("This is test mode: use a test card such as 4242 4242 4242 4242.")
    ).to_be_visible()
    scan(page, "payment form with errors")

    page.goto(f"/pay/{token}/")
    page.get_by_role("link", name="Pay $1,250.00 with Visa •••• 4242").click()
    expect(page.get_by_role("button", name="Confirm payment")).to_be_visible()
    scan(page, "confirm step")

    page.goto(f"/pay/{partner.slug}/account/sign-in/")
    scan(page, "portal sign-in")
    with scope(partner=partner):
        portal_sign_in_email(partner=partner, email=customer.email)
    body = CapturedEmail.objects.filter(to__contains=customer.email).first().body("plain")
    page.goto(re.search(r"https?://[^/\s]+(/pay/\S+/)", body).group(1))
    page.get_by_role("button", name="Continue to your account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your invoices")
    scan(page, "portal invoices")

    page.get_by_role("link", name="Payment methods").click()
    scan(page, "portal payment methods")
    page.get_by_role("button", name="Save card").click()
    expect(page.get_by_text("Enter the card number.")).to_be_visible()
    scan(page, "portal add-method form with errors")

    page.get_by_role("link", name="Billing details").click()
    scan(page, "portal billing details")
