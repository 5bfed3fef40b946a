"""The invoice list: which invoices each filter and tab selects, in which order, page after page, and what
the page says about how many there are. Expectations are written out by hand from the fixture."""

import base64
import datetime
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_scopes import ScopeError, scope

from invoicing import selectors
from invoicing.models import Invoice, InvoiceStatus
from reminders.models import EmailStatus, NotificationKind, OutboundEmail
from reminders.selectors import bounced_emails
from tests.factories.invoicing import customer_for, make_invoice

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 21)
F = selectors.InvoiceFilters
HALF_HOUR = datetime.timedelta(minutes=30)


@pytest.fixture
def noon(time_machine, partner):
    time_machine.move_to(datetime.datetime.combine(TODAY, datetime.time(12), tzinfo=partner.zone), tick=False)


def at(partner, day: datetime.date, hour: int) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=partner.zone)


@pytest.fixture
def book(partner, other_partner, noon):
    """Eight invoices, one per case a filter must tell apart, named by what they are."""
    alice = customer_for(partner, name="Alice Example", email="alice@example.com")
    uptime = customer_for(partner, name="Bob", company="100% Uptime_Ltd", email="ops@uptime.test")
    carol = customer_for(partner, name="carol", company="Carol's Café", email="CAROL@Example.org")
    specs = {
        # name: (customer, status, due in days, total, currency, created days ago, paid at)
        "draft": (alice, InvoiceStatus.DRAFT, 10, 1_000, "USD", 0, None),
        "open": (alice, InvoiceStatus.OPEN, 0, 2_000, "USD", 1, None),  # due today: not overdue
        "overdue": (uptime, InvoiceStatus.OPEN, -1, 3_000, "USD", 2, None),
        "attention": (uptime, InvoiceStatus.OPEN, 5, 4_000, "EUR", 3, None),
        # 23:30 yesterday where the partner is, 04:30 today in UTC
        "paid_late_yesterday": (
            carol,
            InvoiceStatus.PAID,
            -3,
            5_000,
            "USD",
            4,
            at(partner, TODAY, 0) - HALF_HOUR,
        ),
        "paid_today": (carol, InvoiceStatus.PAID, -2, 6_000, "EUR", 4, at(partner, TODAY, 9)),
        "void": (alice, InvoiceStatus.VOID, 20, 7_000, "USD", 5, None),
        "uncollectible": (carol, InvoiceStatus.UNCOLLECTIBLE, -30, 8_000, "USD", 6, None),
    }
    made = {}
    for name, (customer, status, due, total, currency, age, paid_at) in specs.items():
        invoice = make_invoice(
            partner,
            customer=customer,
            finalize=status != InvoiceStatus.DRAFT,
            currency=currency,
            lines=[("Work", "1", total, "0")],
        )
        with scope(partner=partner):
            Invoice.objects.filter(pk=invoice.pk).update(
                status=status,
                due_date=TODAY + datetime.timedelta(days=due),
                created_at=at(partner, TODAY, 8) - datetime.timedelta(days=age),
                paid_at=paid_at,
                collection_failed_at=timezone.now() if name == "attention" else None,
            )
        made[name] = invoice.pk
    OutboundEmail.objects.create(
        partner=partner, invoice_id=made["overdue"], kind=NotificationKind.INVOICE, to=["x@example.com"],
        status=EmailStatus.BOUNCED,
    )  # fmt: skip
    make_invoice(other_partner)  # never listed
    return made, {"alice": alice, "uptime": uptime, "carol": carol}


def names(book, partner, filters: selectors.InvoiceFilters) -> list[str]:
    by_pk = {pk: name for name, pk in book[0].items()}
    with scope(partner=partner):
        page = selectors.invoice_page(partner=partner, filters=filters)
    return [by_pk[invoice.pk] for invoice in page.invoices]


NEWEST_FIRST = ["draft", "open", "overdue", "attention", "paid_today", "paid_late_yesterday", "void"]
ALL = [*NEWEST_FIRST, "uncollectible"]


@pytest.mark.parametrize(
    ("tab", "expected"),
    [
        ("all", ALL),
        ("draft", ["draft"]),
        ("open", ["open", "overdue", "attention"]),
        ("overdue", ["overdue"]),
        ("attention", ["attention"]),
        ("paid", ["paid_today", "paid_late_yesterday"]),
        ("void", ["void"]),
        ("uncollectible", ["uncollectible"]),
    ],
)
def test_each_tab_lists_its_invoices_newest_first(book, partner, tab, expected):
    assert names(book, partner, F(tab=tab)) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("alice", ["draft", "open", "void"]),  # the customer's name, any case
        ("EXAMPLE", ["draft", "open", "paid_today", "paid_late_yesterday", "void", "uncollectible"]),  # email
        ("café", ["paid_today", "paid_late_yesterday", "uncollectible"]),  # the company
        ("100%", ["overdue", "attention"]),  # % is a character, not a wildcard
        ("_ltd", ["overdue", "attention"]),  # so is _
        ("%", ["overdue", "attention"]),
        ("\\", []),
        ("zz", []),
    ],
)
def test_search_by_customer_takes_what_was_typed_literally(book, partner, query, expected):
    assert names(book, partner, F(query=query)) == expected


def test_search_hands_postgresql_the_matching_customers_ids_not_a_subquery(book, partner):
    """With a subquery PostgreSQL guessed that half the list matched and walked all of it, filtering
    (see selectors._search)."""
    with scope(partner=partner), CaptureQueriesContext(connection) as captured:
        selectors.invoice_page(partner=partner, filters=F(query="alice"))
    reads = [q["sql"] for q in captured.captured_queries if 'FROM "invoicing_invoice"' in q["sql"]]
    assert len(reads) == 2  # the count and the page
    assert not any("IN (SELECT" in sql for sql in reads)


@pytest.mark.parametrize("listed", [0, 1, 2])
def test_a_search_matching_more_customers_than_are_listed_finds_the_same(book, partner, monkeypatch, listed):
    monkeypatch.setattr(selectors, "SEARCH_CUSTOMERS_LISTED", listed)  # "example" matches alice and carol
    assert names(book, partner, F(query="EXAMPLE")) == [
        "draft", "open", "paid_today", "paid_late_yesterday", "void", "uncollectible"
    ]  # fmt: skip


def test_search_by_number_is_a_prefix_in_any_case(book, partner):
    made, _ = book
    with scope(partner=partner):
        number = Invoice.objects.get(pk=made["overdue"]).number
    assert names(book, partner, F(query=number.lower())) == ["overdue"]
    assert names(book, partner, F(query=number[:-1])) == [n for n in ALL if n != "draft"]
    assert names(book, partner, F(query=number[1:])) == []  # not a prefix
    assert names(book, partner, F(query=f"  {number}\x00 ")) == ["overdue"]  # PostgreSQL text holds no NUL


def test_filters_by_customer_currency_due_dates_and_bounced_emails(book, partner):
    _, customers = book
    assert names(book, partner, F(customer_id=customers["carol"].pk)) == [
        "paid_today", "paid_late_yesterday", "uncollectible",
    ]  # fmt: skip
    assert names(book, partner, F(currency="EUR")) == ["attention", "paid_today"]
    assert names(book, partner, F(due_from=TODAY)) == ["draft", "open", "attention", "void"]
    assert names(book, partner, F(due_to=TODAY - datetime.timedelta(days=2))) == [
        "paid_today", "paid_late_yesterday", "uncollectible",
    ]  # fmt: skip
    assert names(book, partner, F(due_from=TODAY, due_to=TODAY)) == ["open"]
    with scope(partner=partner):  # as the page's list_filters sets it
        bounced = bounced_emails(partner=partner).values("invoice_id")
    assert names(book, partner, F(bounced=True, within=bounced)) == ["overdue"]
    assert names(book, partner, F(tab="open", currency="USD", query="bob")) == ["overdue"]


def test_paid_between_counts_days_where_the_partner_is(book, partner):
    yesterday = TODAY - datetime.timedelta(days=1)
    assert names(book, partner, F(paid_from=TODAY)) == ["paid_today"]
    assert names(book, partner, F(paid_to=yesterday)) == ["paid_late_yesterday"]  # 23:30 there, not UTC
    assert names(book, partner, F(paid_from=yesterday, paid_to=TODAY)) == [
        "paid_today",
        "paid_late_yesterday",
    ]
    assert names(book, partner, F(paid_to=datetime.date.max)) == ["paid_today", "paid_late_yesterday"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("-created", "draft open overdue attention paid_today paid_late_yesterday void uncollectible"),
        ("created", "uncollectible void paid_late_yesterday paid_today attention overdue open draft"),
        ("due", "uncollectible paid_late_yesterday paid_today overdue open attention draft void"),
        ("-due", "void draft attention open overdue paid_today paid_late_yesterday uncollectible"),
        ("-total", "uncollectible void paid_today paid_late_yesterday attention overdue open draft"),
        ("total", "draft open overdue attention paid_late_yesterday paid_today void uncollectible"),
    ],
)
def test_each_sort_orders_the_list(book, partner, sort, expected):
    assert names(book, partner, F(sort=sort)) == expected.split()


def walk(partner, filters) -> tuple[list[int], list[int]]:
    """Every page forward, then every page back from the last one."""
    forward, pages, cursor = [], [], ""
    with scope(partner=partner):
        while True:
            page = selectors.invoice_page(partner=partner, filters=filters, cursor=cursor)
            pages.append(page)
            forward += [invoice.pk for invoice in page.invoices]
            if not page.next_cursor:
                break
            cursor = page.next_cursor
        page = pages[-1]
        backward = [invoice.pk for invoice in page.invoices]
        while page.previous_cursor:
            page = selectors.invoice_page(partner=partner, filters=filters, cursor=page.previous_cursor)
            backward = [invoice.pk for invoice in page.invoices] + backward
    assert pages[0].previous_cursor is None
    return forward, backward


@pytest.mark.parametrize("sort", list(selectors.SORTS))
def test_pages_forward_and_back_cover_every_invoice_once_through_ties(partner, monkeypatch, sort):
    """Equal sort values (same time, same total, same due date) are ordered by id, so no page skips or
    repeats one."""
    customer = customer_for(partner)
    made = [make_invoice(partner, customer=customer, lines=[("Work", "1", 100 * (n % 2 + 1), "0")]).pk
            for n in range(8)]  # fmt: skip
    with scope(partner=partner):
        Invoice.objects.filter(pk__in=made[:4]).update(created_at=at(partner, TODAY, 8))
    with scope(partner=partner):
        one_page = selectors.invoice_page(partner=partner, filters=F(sort=sort)).invoices
    monkeypatch.setattr(selectors, "PAGE_SIZE", 3)
    forward, backward = walk(partner, F(sort=sort))
    assert sorted(forward) == sorted(made)
    assert forward == backward == [invoice.pk for invoice in one_page]


def test_the_count_stops_at_the_cap_and_the_page_says_more_than(owner_client, partner, monkeypatch):
    monkeypatch.setattr(selectors, "COUNT_CAP", 3)
    customer = customer_for(partner)
    for _ in range(4):
        make_invoice(partner, customer=customer)
    response = owner_client.get(reverse("invoice_list"))
    assert (response.context["page"].count, response.context["page"].count_is_capped) == (3, True)
    assert "More than 3 invoices" in response.content.decode()
    response = owner_client.get(reverse("invoice_list"), {"tab": "draft"})
    assert "No invoices match" in response.content.decode()
    make_invoice(partner, customer=customer, finalize=False)
    response = owner_client.get(reverse("invoice_list"), {"tab": "draft"})
    assert (response.context["page"].count, response.context["page"].count_is_capped) == (1, False)
    assert "1 invoice<" in response.content.decode()


def test_the_list_costs_the_same_queries_for_one_invoice_or_ten(
    owner_client, partner, django_assert_num_queries
):
    make_invoice(partner)
    owner_client.get(reverse("invoice_list"))  # the session and the membership are cached after this
    with CaptureQueriesContext(connection) as one:
        owner_client.get(reverse("invoice_list"))
    for _ in range(9):
        make_invoice(partner, customer=customer_for(partner))
    with django_assert_num_queries(len(one.captured_queries)):
        body = owner_client.get(reverse("invoice_list")).content.decode()
    assert body.count('<span class="status status-') == 10


def test_rows_link_to_each_invoice_and_the_pager_keeps_the_filters(owner_client, partner, monkeypatch):
    monkeypatch.setattr(selectors, "PAGE_SIZE", 2)
    customer = customer_for(partner, name="Pat")
    made = [make_invoice(partner, customer=customer) for _ in range(3)]
    body = owner_client.get(reverse("invoice_list"), {"q": "pat", "sort": "total"}).content.decode()
    assert f'href="{reverse("invoice_detail", kwargs={"invoice_id": made[0].pk})}"' in body
    page = owner_client.get(reverse("invoice_list"), {"q": "pat", "sort": "total"}).context["page"]
    assert f'href="?q=pat&amp;sort=total&amp;cursor={page.next_cursor}"' in body
    second = owner_client.get(
        reverse("invoice_list"), {"q": "pat", "sort": "total", "cursor": page.next_cursor}
    )
    assert f'href="?q=pat&amp;sort=total&amp;cursor={second.context["page"].previous_cursor}"' in (
        second.content.decode()
    )


def cursor_of(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


BAD_CURSORS = [
    "!!garbage",
    "=" * 300,
    cursor_of("not json"),
    cursor_of('["next", Infinity, 5]'),
    cursor_of('["next", -Infinity, 5]'),
    cursor_of('["next", NaN, 5]'),
    cursor_of('["next", 1e400, 5]'),  # a float too large: inf
    cursor_of(f'["next", {10**30}, 5]'),
    cursor_of(f'["next", -{10**30}, 5]'),
    cursor_of('["next", 1.5, 5]'),
    cursor_of('["next", true, 5]'),
    cursor_of('["next", "99999-01-01", 5]'),
    cursor_of('["next", "2026-01-01T00:00:00", 5]'),  # a time without its offset
    cursor_of('["next", "2026-01-01", NaN]'),
    cursor_of(f'["next", "2026-01-01", {10**30}]'),
    cursor_of('["next", "2026-01-01", 1.0]'),
    cursor_of('["sideways", "2026-01-01", 1]'),
    cursor_of('{"a": 1, "b": 2, "c": 3}'),
    cursor_of("[" * 100 + "]" * 100),
    cursor_of('"next"'),
    cursor_of('["prev", null, null]'),
    cursor_of('["next", "2026-01-01", "1; DROP"]'),
    cursor_of("5"),
]


@pytest.mark.parametrize("sort", ["-created", "due", "-total"])
@pytest.mark.parametrize("cursor", BAD_CURSORS)
def test_a_bad_cursor_shows_the_first_page_never_an_error(owner_client, partner, cursor, sort):
    make_invoice(partner)
    response = owner_client.get(reverse("invoice_list"), {"cursor": cursor, "sort": sort})
    assert response.status_code == 200
    assert len(response.context["page"].invoices) == 1
    assert response.context["page"].previous_cursor is None


def test_a_cursor_made_by_the_list_is_read_back_for_each_sort(partner):
    invoice = make_invoice(partner)
    for sort, (_, column, _) in selectors.SORTS.items():
        value = getattr(invoice, column)
        decoded = selectors._decode(selectors._encode(["next", value, invoice.pk]), column)
        assert (decoded.backwards, decoded.value, decoded.pk) == (False, value, invoice.pk), sort
    assert json.loads(base64.urlsafe_b64decode(selectors._encode(["prev", TODAY, 7]) + "==")) == [
        "prev", "2026-11-21", 7,
    ]  # fmt: skip


def test_the_list_reads_only_inside_the_partners_scope(partner):
    make_invoice(partner)
    with pytest.raises(ScopeError):
        selectors.invoice_page(partner=partner, filters=F())
