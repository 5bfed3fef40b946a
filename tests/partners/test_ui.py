"""The side navigation, the invoice list's tabs and its filter selects."""

import re

import pytest
from django.urls import reverse

from tests.factories.invoicing import make_invoice

pytestmark = pytest.mark.django_db


def current_links(html: str) -> list[str]:
    return re.findall(r'<a href="([^"]*)" aria-current="page">', html)


@pytest.mark.parametrize(
    ("path", "current"),
    [
        ("/", "/"),
        ("/invoices/", "/invoices/"),
        ("/invoices/new/", "/invoices/"),
        ("/customers/", "/customers/"),
        ("/upcoming/", "/upcoming/"),
        ("/settings/", "/settings/"),
        ("/settings/invoicing/", "/settings/"),
        ("/activity/", "/activity/"),
    ],
)
def test_the_side_navigation_marks_the_section_of_the_page(owner_client, path, current):
    response = owner_client.get(path)
    assert response.status_code == 200
    nav = response.content.decode().split('<nav class="sidenav"', 1)[1].split("</nav>", 1)[0]
    assert current_links(nav) == [current]
    assert nav.count("<li>") == 8


def test_invoice_tabs_keep_the_search_and_currency_and_escape_them(owner_client, partner):
    make_invoice(partner)
    html = owner_client.get(
        reverse("invoice_list"), {"tab": "open", "q": '<b>"x"&', "currency": "eur"}
    ).content
    tabs = html.decode().split('<nav class="tabs"', 1)[1].split("</nav>", 1)[0]
    assert '<a href="?tab=open&amp;q=%3Cb%3E%22x%22%26&amp;currency=EUR" aria-current="page">Open</a>' in tabs
    assert '<a href="?tab=attention&amp;q=%3Cb%3E%22x%22%26&amp;currency=EUR">Needs attention</a>' in tabs
    assert "<b>" not in tabs


def test_filter_selects_show_the_chosen_values(owner_client):
    html = owner_client.get(reverse("invoice_list"), {"currency": "JPY", "sort": "-total"}).content.decode()
    assert '<option value="JPY" selected>JPY</option>' in html
    assert '<option value="-total" selected>Largest total</option>' in html
    assert '<option value="">All</option>' in html
    assert html.count(" selected>") == 2
