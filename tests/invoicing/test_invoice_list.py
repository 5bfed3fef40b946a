"""The invoice list's hand-written query selects exactly what invoice_filtered (the exports' and the
dashboard's definition) selects, in the same order, page after page, for any mix of filters."""

import dataclasses
import datetime

import pytest
from django.utils import timezone
from django_scopes import scope
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from invoicing import selectors
from invoicing.models import Invoice, InvoiceStatus
from reminders.models import EmailStatus, NotificationKind, OutboundEmail
from reminders.selectors import bounced_emails
from tests.factories.invoicing import customer_for, make_invoice

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 21)
CUSTOMERS = [
    {"name": "Alice Example", "company": "", "email": "alice@example.com"},
    {"name": "Bob", "company": "100% Uptime_Ltd", "email": "ops@uptime.test"},
    {"name": "carol", "company": "Carol's Café", "email": "CAROL@Example.org"},
]
QUERIES = [
    "",
    "inv-0",
    "INV-00",
    "alice",
    "100%",
    "_ltd",
    "uptime_",
    "example",
    "café",
    "%",
    "_",
    "\\",
    "zz",
    " a",
]


@pytest.fixture
def invoices(partner, other_partner, unscoped):
    """36 invoices of every status, dates on both sides of midnight where the partner is."""
    customers = [customer_for(partner, **fields) for fields in CUSTOMERS]
    statuses = [InvoiceStatus.OPEN, InvoiceStatus.PAID, InvoiceStatus.DRAFT, InvoiceStatus.VOID]
    made = []
    for n in range(36):
        invoice = make_invoice(
            partner,
            customer=customers[n % 3],
            finalize=n % 7 != 0,
            lines=[("Work", "1", 1_000 * (n % 5 + 1), "0")],
            currency="EUR" if n % 4 == 0 else "USD",
        )
        made.append(invoice)
        midnight = datetime.datetime.combine(TODAY, datetime.time(), tzinfo=partner.zone)
        Invoice.objects.filter(pk=invoice.pk).update(
            status=(InvoiceStatus.UNCOLLECTIBLE if n % 12 == 11 else statuses[n % 4])
            if invoice.number
            else InvoiceStatus.DRAFT,
            due_date=TODAY + datetime.timedelta(days=n - 16),  # n=16: open, due today
            created_at=midnight - datetime.timedelta(days=n % 6),  # ties: the id decides
            paid_at=midnight + datetime.timedelta(hours=n - 15) / 2 if n % 4 == 1 else None,  # n=13: 23:00
            collection_failed_at=timezone.now() if n % 8 == 0 else None,
        )
    for invoice in made[::5]:
        OutboundEmail.objects.create(
            partner=partner, invoice=invoice, kind=NotificationKind.INVOICE, to=["x@example.com"],
            status=EmailStatus.BOUNCED,
        )  # fmt: skip
    make_invoice(other_partner)  # never listed
    return customers


def listed(partner, filters, monkeypatch) -> tuple[list[int], list[int], int]:
    """Every page forward, then every page back from the last one; and the first page's count."""
    monkeypatch.setattr(selectors, "PAGE_SIZE", 7)
    forward, cursor, pages = [], "", []
    while True:
        page = selectors.invoice_page(partner=partner, filters=filters, cursor=cursor)
        pages.append(page)
        forward += [row.pk for row in page.invoices]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    backward, page = [row.pk for row in pages[-1].invoices], pages[-1]
    while page.previous_cursor:
        page = selectors.invoice_page(partner=partner, filters=filters, cursor=page.previous_cursor)
        backward = [row.pk for row in page.invoices] + backward
    return forward, backward, pages[0].count


def expected(partner, filters) -> list[int]:
    _, column, descending = selectors.SORTS[filters.sort]
    order = [f"-{column}", "-id"] if descending else [column, "id"]
    return list(
        selectors.invoice_filtered(partner=partner, filters=filters)
        .order_by(*order)
        .values_list("pk", flat=True)
    )


def check(partner, filters, monkeypatch) -> list[int]:
    with scope(partner=partner):
        wanted = expected(partner, filters)
        forward, backward, count = listed(partner, filters, monkeypatch)
    assert forward == wanted, filters
    assert backward == wanted, filters
    assert count == len(wanted), filters
    return wanted


def at_noon(time_machine, partner):
    time_machine.move_to(datetime.datetime.combine(TODAY, datetime.time(12), tzinfo=partner.zone), tick=False)


F = selectors.InvoiceFilters
YESTERDAY = TODAY - datetime.timedelta(days=1)
# One filter at a time, each on the edge where a slip (< for <=, an unescaped %, UTC for local) shows.
CASES = [
    *(F(tab=tab) for tab in selectors.TABS),
    *(F(query=query) for query in QUERIES if query),
    *(F(sort=sort) for sort in selectors.SORTS),
    F(due_from=TODAY), F(due_to=TODAY), F(due_from=TODAY, due_to=TODAY),
    F(paid_from=TODAY), F(paid_to=TODAY), F(paid_to=YESTERDAY), F(paid_from=YESTERDAY, paid_to=YESTERDAY),
    F(currency="EUR"), F(bounced=True), F(tab="open", sort="due", query="inv"),
]  # fmt: skip


def test_each_filter_selects_what_invoice_filtered_selects(partner, invoices, monkeypatch, time_machine):
    at_noon(time_machine, partner)
    for filters in CASES:
        if filters.bounced:  # the page resolves reminders' filter into `within` (dashboard list_filters)
            filters = dataclasses.replace(
                filters, within=bounced_emails(partner=partner).values("invoice_id")
            )
        wanted = check(partner, filters, monkeypatch)
        if filters.as_params().keys() - {"sort"} and filters.query not in ("zz", "\\"):
            assert 0 < len(wanted) < 36, f"{filters} selects nothing or everything: it proves little"


days = st.one_of(st.none(), st.dates(TODAY - datetime.timedelta(days=2), TODAY + datetime.timedelta(days=2)))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    tab=st.sampled_from(selectors.TABS),
    query=st.sampled_from(QUERIES),
    customer=st.sampled_from([None, 0, 1, 2]),
    due_from=days,
    due_to=days,
    paid_from=days,
    paid_to=days,
    currency=st.sampled_from(["", "USD", "EUR", "JPY"]),
    sort=st.sampled_from(list(selectors.SORTS)),
    bounced=st.booleans(),
)
def test_any_mix_of_filters_selects_what_invoice_filtered_selects(
    partner, invoices, monkeypatch, time_machine, tab, query, customer, due_from, due_to, paid_from, paid_to,
    currency, sort, bounced,
):  # fmt: skip
    at_noon(time_machine, partner)
    filters = F(
        tab=tab, query=query, customer_id=None if customer is None else invoices[customer].pk,
        due_from=due_from, due_to=due_to, paid_from=paid_from, paid_to=paid_to, currency=currency, sort=sort,
        bounced=bounced,
    )  # fmt: skip
    check(partner, filters, monkeypatch)
