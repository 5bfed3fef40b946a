"""The hosted invoice page a customer opens from the emailed link (/pay/<token>/).

pay_page_bytes: what the browser downloads for it, as served: the HTML, then every stylesheet and script
the HTML loads, each fetched through the app (whitenoise for static files) with `Accept-Encoding: gzip,
br`, counting the body bytes the app sends back, compressed where the app compresses (static files) and
raw where it does not (the HTML and the brand stylesheet are dynamic and sent uncompressed: compressing
pages that carry secrets invites BREACH). Images and the favicon are not counted (target: HTML + CSS + JS).

pay_page_p95_ms: server time of the page GET through the whole Django stack (Django test client).
"""

import re

from harness import customer_with_card, five_line_invoice, p95_ms, ready, report, setup

setup()

from django.test import Client  # noqa: E402
from django_scopes import scope, scopes_disabled  # noqa: E402

from invoicing.models import Invoice  # noqa: E402
from partners.models import Partner  # noqa: E402
from payments.portal.services import pay_link_reissue  # noqa: E402

ASSETS = re.compile(r'<(?:link[^>]*rel="stylesheet"[^>]*href|script[^>]*src)="([^"]+)"')


def bench_invoice() -> Invoice:
    """A five-line open invoice whose customer has a saved card, as most pay links see; made on the first
    run and reused."""
    partner, _ = Partner.objects.get_or_create(name="Bench Pay Partner", defaults={"brand_colour": "#0a7d3b"})
    with scope(partner=partner):
        customer = customer_with_card(partner, email="bench-pay@example.com", name="Bench Pay Customer")
        invoice = five_line_invoice(customer)
    with scopes_disabled():
        return Invoice.objects.select_related("partner").get(pk=invoice.pk)


def served_bytes(client: Client, url: str) -> int:
    response = client.get(url, headers={"Accept-Encoding": "gzip, br"})
    assert response.status_code == 200, (url, response.status_code)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return len(body)


invoice = bench_invoice()
with scope(partner=invoice.partner):
    url = pay_link_reissue(invoice=invoice, actor=None)
path = "/" + url.split("://", 1)[1].split("/", 1)[1]
client = Client(SERVER_NAME="127.0.0.1")
page = client.get(path)
assert page.status_code == 200, page.status_code
html = page.content.decode()
assert "Pay $" in html
assets = ASSETS.findall(html)
assert any(a.endswith(".css") for a in assets) and any(a.endswith(".js") for a in assets), assets
total = len(page.content) + sum(served_bytes(client, asset) for asset in assets)
report("pay_page_bytes", total, "bytes")

ready()
report("pay_page_p95_ms", p95_ms(lambda: client.get(path)), "ms")
