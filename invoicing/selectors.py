"""Reads about invoices, always scoped to one partner.

The list is built to stay fast for a partner with hundreds of thousands of invoices: keyset
(seek) pagination on an indexed (sort key, id) pair instead of OFFSET, and a count that stops
at COUNT_CAP instead of counting everything.
"""

import base64
import datetime
import json
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import Upper
from django.http import Http404

from customers.models import Customer
from invoicing.models import ISSUED_STATUSES, Invoice, InvoiceStatus
from partners.models import Partner

PAGE_SIZE = 50
COUNT_CAP = 1000
STATUS_LABELS = dict(InvoiceStatus.choices)
TABS = ["all", "draft", "open", "overdue", "attention", "paid", "void", "uncollectible"]
TAB_LABELS = {"attention": "Needs attention"}
# Sort keys a person can choose: (label, model field, newest/largest first?)
SORTS = {
    "-created": ("Newest", "created_at", True),
    "created": ("Oldest", "created_at", False),
    "due": ("Due date", "due_date", False),
    "-due": ("Due date, latest first", "due_date", True),
    "-total": ("Largest total", "total", True),
    "total": ("Smallest total", "total", False),
}


def invoice_get(*, partner: Partner, invoice_id: int) -> Invoice:
    try:
        return Invoice.objects.select_related("customer", "partner", "payment_method").get(
            partner=partner, pk=invoice_id
        )
    except Invoice.DoesNotExist:
        raise Http404("No such invoice.") from None


@dataclass
class InvoiceFilters:
    tab: str = "all"
    query: str = ""
    customer_id: int | None = None
    due_from: datetime.date | None = None
    due_to: datetime.date | None = None
    sort: str = "-created"
    currency: str = ""
    # Paid between these days, inclusive, in the partner's time zone (paid_at is stored in UTC).
    paid_from: datetime.date | None = None
    paid_to: datetime.date | None = None
    bounced: bool = False  # an email about the invoice bounced or was marked as spam (see `within`)
    # Invoice ids the list is limited to, for filters that belong to apps above invoicing: the page
    # sets it from `bounced` (reminders' bounced emails). A subquery, never evaluated here.
    within: QuerySet | None = None

    def as_params(self) -> dict[str, str]:
        """The list's query string for these filters: how the dashboard and reports link to exactly the
        invoices behind a figure."""
        params = {
            "tab": self.tab,
            "q": self.query,
            "customer": str(self.customer_id or ""),
            "currency": self.currency,
            "due_from": self.due_from.isoformat() if self.due_from else "",
            "due_to": self.due_to.isoformat() if self.due_to else "",
            "paid_from": self.paid_from.isoformat() if self.paid_from else "",
            "paid_to": self.paid_to.isoformat() if self.paid_to else "",
            "sort": "" if self.sort == "-created" else self.sort,
            "bounced": "1" if self.bounced else "",
        }
        return {key: value for key, value in params.items() if value and (key, value) != ("tab", "all")}


@dataclass
class InvoicePage:
    invoices: list["InvoiceRow"]
    next_cursor: str | None
    previous_cursor: str | None
    count: int
    count_is_capped: bool
    filters: InvoiceFilters = field(default_factory=InvoiceFilters)


def invoice_filtered(*, partner: Partner, filters: InvoiceFilters) -> QuerySet[Invoice]:
    invoices = Invoice.objects.filter(partner=partner)
    today = partner.today()
    if filters.tab == "overdue":
        invoices = invoices.filter(status=InvoiceStatus.OPEN, due_date__lt=today)
    elif filters.tab == "attention":  # automatic charging stopped: hard decline, retries used up
        invoices = invoices.filter(status=InvoiceStatus.OPEN, collection_failed_at__isnull=False)
    elif filters.tab in InvoiceStatus.values:
        invoices = invoices.filter(status=filters.tab)
    if filters.customer_id:
        invoices = invoices.filter(customer_id=filters.customer_id)
    if filters.due_from:
        invoices = invoices.filter(due_date__gte=filters.due_from)
    if filters.due_to:
        invoices = invoices.filter(due_date__lte=filters.due_to)
    if filters.currency:
        invoices = invoices.filter(currency=filters.currency)
    if filters.paid_from:
        invoices = invoices.filter(paid_at__gte=day_start(partner, filters.paid_from))
    if filters.paid_to:
        invoices = invoices.filter(paid_at__lt=day_end(partner, filters.paid_to))
    if filters.within is not None:
        invoices = invoices.filter(pk__in=filters.within)
    query = filters.query.replace("\x00", " ").strip()  # PostgreSQL text can't hold NUL
    if query:
        invoices = _search(partner, invoices, query)
    return invoices


def day_start(partner: Partner, day: datetime.date) -> datetime.datetime:
    """Midnight at the start of `day` where the partner is, as an aware datetime."""
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=partner.zone)


def day_end(partner: Partner, day: datetime.date) -> datetime.datetime:
    """Where the partner is, the first moment after `day` (an exclusive bound): the next midnight. The
    last day a date can hold (Dec 31, 9999, typed in a filter) has no next one: its last microsecond."""
    if day == datetime.date.max:
        return datetime.datetime.combine(day, datetime.time.max, tzinfo=partner.zone)
    return day_start(partner, day + datetime.timedelta(days=1))


def _search(partner: Partner, invoices: QuerySet[Invoice], query: str) -> QuerySet[Invoice]:
    """By invoice number (prefix, any case: uses the invoice_number_upper index) or by the customer's
    name, company or email (a small set of customers, then their invoices by index)."""
    customers = Customer.objects.filter(partner=partner).filter(
        Q(name__icontains=query) | Q(company__icontains=query) | Q(email__icontains=query)
    )
    return invoices.annotate(number_upper=Upper("number")).filter(
        Q(number_upper__startswith=query.upper()) | Q(customer_id__in=customers.values("pk"))
    )


def _encode(values: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


def _decode(cursor: str, column: str) -> list | None:
    """(direction, value, id) from a cursor, or None for anything that was not made by _encode."""
    try:
        direction, value, last_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if direction not in ("next", "prev") or value is None or not isinstance(last_id, int):
            return None
        if not 0 < last_id < 2**63:
            return None
        return [direction, Invoice._meta.get_field(column).to_python(value), int(last_id)]
    except (ValueError, TypeError, ValidationError):
        return None


@dataclass(slots=True)
class InvoiceRow:
    """One line of the invoice list: the columns it shows, not a model instance (50 of those, and their
    customers, cost more to build than the query costs to run)."""

    pk: int
    number: str
    status: str
    currency: str
    total: int
    amount_due: int
    due_date: datetime.date
    created_at: datetime.datetime
    customer_id: int
    customer_name: str
    customer_company: str
    list_status: tuple[str, str] = ("", "")  # (css name, label), with "overdue" for open and past due

    @property
    def display_number(self) -> str:
        return self.number or "Draft"

    @property
    def customer_display_name(self) -> str:
        return self.customer_company or self.customer_name


# InvoiceRow's fields, in order. created_at is read as a UTC timestamp and made aware in Python: Django's
# psycopg loader for timestamptz runs in Python, psycopg's own for timestamp in C (51 rows a page).
_ROW_COLUMNS = ", ".join([
    "i.id", "i.number", "i.status", "i.currency", "i.total", "i.amount_due", "i.due_date",
    "i.created_at AT TIME ZONE 'UTC'", "c.id", "c.name", "c.company",
])  # fmt: skip


def _list_where(partner: Partner, filters: InvoiceFilters) -> tuple[str, list]:
    """invoice_filtered's conditions as SQL on `invoicing_invoice i`, for the list page.

    Written out because compiling the ORM query took longer than running it on the busiest page. The
    two must select the same invoices: tests/invoicing/test_invoice_list.py compares them filter by
    filter. The exports and the dashboard keep using invoice_filtered.
    """
    where, params = ["i.partner_id = %s"], [partner.pk]
    if filters.tab == "overdue":
        where.append("i.status = %s AND i.due_date < %s")
        params += [InvoiceStatus.OPEN, partner.today()]
    elif filters.tab == "attention":
        where.append("i.status = %s AND i.collection_failed_at IS NOT NULL")
        params.append(InvoiceStatus.OPEN)
    elif filters.tab in InvoiceStatus.values:
        where.append("i.status = %s")
        params.append(filters.tab)
    for value, condition in [
        (filters.customer_id, "i.customer_id = %s"),
        (filters.due_from, "i.due_date >= %s"),
        (filters.due_to, "i.due_date <= %s"),
        (filters.currency, "i.currency = %s"),
        (filters.paid_from and day_start(partner, filters.paid_from), "i.paid_at >= %s"),
        (filters.paid_to and day_end(partner, filters.paid_to), "i.paid_at < %s"),
    ]:
        if value:
            where.append(condition)
            params.append(value)
    if filters.within is not None:
        within_sql, within_params = filters.within.query.sql_with_params()
        where.append(f"i.id IN ({within_sql})")
        params += within_params
    query = filters.query.replace("\x00", " ").strip()
    if query:
        # As _search: a number prefix (the invoice_number_upper index) or a customer's name, company or
        # email containing the words, matched the way Django's istartswith and icontains match.
        like = connection.ops.prep_for_like_query(query)
        where.append(
            "(UPPER(i.number)::text LIKE %s OR i.customer_id IN (SELECT s.id FROM customers_customer s"
            " WHERE s.partner_id = %s AND (UPPER(s.name::text) LIKE UPPER(%s)"
            " OR UPPER(s.company::text) LIKE UPPER(%s) OR UPPER(s.email::text) LIKE UPPER(%s))))"
        )
        params += [f"{like.upper()}%", partner.pk, f"%{like}%", f"%{like}%", f"%{like}%"]
    return " AND ".join(where), params


def invoice_page(*, partner: Partner, filters: InvoiceFilters, cursor: str = "") -> InvoicePage:
    """One page of the list. A cursor is (direction, sort value, id) of the row to continue from."""
    _, column, descending = SORTS.get(filters.sort, SORTS["-created"])
    decoded = _decode(cursor, column) if cursor else None
    backwards = bool(decoded and decoded[0] == "prev")
    direction = "DESC" if descending != backwards else "ASC"
    order = f"i.{column} {direction}, i.id {direction}"
    where, params = _list_where(partner, filters)
    seek, seek_params = "", []
    if decoded:
        # A row comparison, (created_at, id) < (value, id): PostgreSQL seeks the (partner, column, id) index
        # straight to it, where the equivalent OR of two conditions makes it scan.
        seek = f" AND (i.{column}, i.id) {'<' if direction == 'DESC' else '>'} (%s, %s)"
        seek_params = decoded[1:]
    # The count travels with the page (one round trip, not two) and stops at COUNT_CAP + 1. Counted in
    # list order on purpose: the planner then uses the same index as the page itself. Only fixed text and
    # the column names of SORTS go into the text; every value is a parameter.
    sql = (
        f"SELECT {_ROW_COLUMNS}, (SELECT COUNT(*) FROM (SELECT 1 FROM invoicing_invoice i WHERE {where}"  # noqa: S608
        f" ORDER BY {order} LIMIT {COUNT_CAP + 1}) AS capped)"
        f" FROM invoicing_invoice i JOIN customers_customer c ON c.id = i.customer_id"
        f" WHERE {where}{seek} ORDER BY {order} LIMIT {PAGE_SIZE + 1}"
    )
    with connection.cursor() as db:
        db.execute(sql, [*params, *params, *seek_params])
        fetched = db.fetchall()
    count = fetched[0][-1] if fetched else 0  # an empty page (a stale cursor) reads 0
    has_more = len(fetched) > PAGE_SIZE
    rows = [InvoiceRow(*values[:-1]) for values in fetched[:PAGE_SIZE]]
    if backwards:
        rows.reverse()
    today = partner.today()
    for row in rows:
        row.created_at = row.created_at.replace(tzinfo=datetime.UTC)
        # The status a person reads, computed once here rather than per row in the template.
        overdue = row.status == InvoiceStatus.OPEN and row.due_date < today
        row.list_status = ("overdue", "Overdue") if overdue else (row.status, STATUS_LABELS[row.status])
    at_start = not decoded or (backwards and not has_more)
    next_exists = has_more if not backwards else True
    return InvoicePage(
        invoices=rows,
        next_cursor=_encode(["next", getattr(rows[-1], column), rows[-1].pk])
        if rows and next_exists
        else None,
        previous_cursor=_encode(["prev", getattr(rows[0], column), rows[0].pk])
        if rows and not at_start
        else None,
        count=min(count, COUNT_CAP),
        count_is_capped=count > COUNT_CAP,
        filters=filters,
    )


def invoice_events(*, invoice: Invoice):
    return invoice.events.select_related("actor").order_by("created_at", "id")


def invoice_is_overdue(*, invoice: Invoice) -> bool:
    return invoice.status == InvoiceStatus.OPEN and invoice.due_date < invoice.partner.today()


# A customer's invoices (the customer page) -------------------------------------------------------


def customer_balance(*, customer: Customer) -> list[tuple[str, int]]:
    """What the customer owes, per currency, in minor units: [("EUR", 5000), ("USD", 125050)]."""
    rows = (
        Invoice.objects.filter(partner_id=customer.partner_id, customer=customer, status__in=ISSUED_STATUSES)
        .values("currency")
        .annotate(due=Sum("amount_due"))
        .order_by("currency")
    )
    return [(row["currency"], row["due"]) for row in rows]


def customer_recent_invoices(*, customer: Customer, limit: int = 20) -> QuerySet[Invoice]:
    return Invoice.objects.filter(partner_id=customer.partner_id, customer=customer).order_by(
        "-created_at", "-id"
    )[:limit]
