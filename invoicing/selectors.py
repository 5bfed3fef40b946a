"""Reads about invoices, always scoped to one partner.

The list is built to stay fast for a partner with hundreds of thousands of invoices: keyset
(seek) pagination on an indexed (sort key, id) pair instead of OFFSET, and a count that stops
at COUNT_CAP instead of counting everything. Its filters are invoice_filtered's, as for the
exports and the dashboard's links.
"""

import base64
import datetime
import json
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import Upper
from django.http import Http404

from core import money
from customers.models import Customer
from invoicing.models import ISSUED_STATUSES, NEEDS_ATTENTION, Invoice, InvoiceStatus
from partners.models import Partner

PAGE_SIZE = 50
COUNT_CAP = 1000
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
    """One of the partner's invoices, with what its page shows beside it (customer, chosen payment
    method, the recurring run that issued it) in the same query; its partner is the one given, not
    read again."""
    try:
        invoice = Invoice.objects.select_related("customer", "payment_method", "recurring_run").get(
            partner=partner, pk=invoice_id
        )
    except Invoice.DoesNotExist:
        raise Http404("No such invoice.") from None
    invoice.partner = partner
    return invoice


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
    invoices: list[Invoice]
    next_cursor: str | None
    previous_cursor: str | None
    count: int
    count_is_capped: bool
    filters: InvoiceFilters = field(default_factory=InvoiceFilters)


def invoice_filtered(*, partner: Partner, filters: InvoiceFilters) -> QuerySet[Invoice]:
    # Through the partner's related manager, so every invoice read knows its partner without a query
    # (Invoice.is_overdue asks it for today's date).
    invoices = partner.invoices.all()
    today = partner.today()
    if filters.tab == "overdue":
        invoices = invoices.filter(status=InvoiceStatus.OPEN, due_date__lt=today)
    elif filters.tab == "attention":
        invoices = invoices.filter(NEEDS_ATTENTION)
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


# At most this many matching customers are looked up first and handed to PostgreSQL as a list; more
# than that and the search stays a subquery.
SEARCH_CUSTOMERS_LISTED = 1000


def _search(partner: Partner, invoices: QuerySet[Invoice], query: str) -> QuerySet[Invoice]:
    """By invoice number (prefix, any case: uses the invoice_number_upper index) or by the customer's
    name, company or email.

    The matching customers are read first, as a list of ids. Given a subquery instead, PostgreSQL can't
    tell how many invoices it matches, guesses half, and walks the partner's whole list in date order
    filtering every row (about 400 ms at 400,000 invoices for a name that matches one customer). Given
    the ids, it reads just those customers' invoices by index (under 3 ms), or, when the number alone
    can match (no customer does), only the number index. A query so broad that more than
    SEARCH_CUSTOMERS_LISTED customers match keeps the subquery: most of the list matches then, and the
    walk in date order finds a page at once."""
    customers = Customer.objects.filter(partner=partner).filter(
        Q(name__icontains=query) | Q(company__icontains=query) | Q(email__icontains=query)
    )
    customer_ids = list(customers.values_list("pk", flat=True)[: SEARCH_CUSTOMERS_LISTED + 1])
    by_number = Q(number_upper__startswith=query.upper())
    if not customer_ids:
        matches = by_number
    elif len(customer_ids) <= SEARCH_CUSTOMERS_LISTED:
        matches = by_number | Q(customer_id__in=customer_ids)
    else:
        matches = by_number | Q(customer_id__in=customers.values("pk"))
    return invoices.annotate(number_upper=Upper("number")).filter(matches)


def _encode(values: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=_iso).encode()).decode().rstrip("=")


def _iso(value: datetime.date) -> str:
    return value.isoformat()


def _refuse(constant: str):
    raise ValueError(f"{constant} is not a position in the list")  # Infinity, -Infinity, NaN


def _aware(text: str) -> datetime.datetime:
    moment = datetime.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("a cursor's time carries its offset")
    return moment


def _bigint(number: int) -> int:
    if type(number) is not int or not -(2**63) <= number < 2**63:
        raise ValueError("a total is a whole number a bigint holds")
    return number


# How a cursor's sort value is read back, per sort column; anything else raises ValueError or TypeError.
_CURSOR_VALUES = {"created_at": _aware, "due_date": datetime.date.fromisoformat, "total": _bigint}


@dataclass(frozen=True)
class _Position:
    backwards: bool
    value: datetime.date | int
    pk: int


def _decode(cursor: str, column: str) -> _Position | None:
    """Where a cursor made by _encode points, or None for anything else (a tampered cursor shows the
    first page)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        direction, value, pk = json.loads(raw, parse_constant=_refuse)
        value = _CURSOR_VALUES[column](value)
    except (ValueError, TypeError, OverflowError):
        return None
    if direction not in ("next", "prev") or type(pk) is not int or not 0 < pk < 2**63:
        return None
    return _Position(backwards=direction == "prev", value=value, pk=pk)


def invoice_cursor_valid(*, cursor: str, sort: str) -> bool:
    """Whether `cursor` is one invoice_page made for this sort (the page itself shows the first page for
    any other; an API client is told instead)."""
    _, column, _ = SORTS.get(sort, SORTS["-created"])
    return _decode(cursor, column) is not None


def _beyond(column: str, position: _Position, descending: bool) -> Q:
    """The rows after `position` in list order: (column, id) past (value, pk). The first condition is
    implied by the other two; it is there so that PostgreSQL seeks the (partner, column, id) index
    straight to the position instead of scanning up to it."""
    past = "lt" if descending else "gt"
    value = position.value
    return Q(**{f"{column}__{past}e": value}) & (
        Q(**{f"{column}__{past}": value}) | Q(**{column: value, f"id__{past}": position.pk})
    )


# The columns the list shows; the rest of an invoice (its parties' copies, memo, footer) stays unread.
LIST_FIELDS = (
    "partner", "customer", "number", "status", "currency", "total", "amount_due", "due_date", "created_at",
    "customer__name", "customer__company",
)  # fmt: skip


def invoice_page(*, partner: Partner, filters: InvoiceFilters, cursor: str = "") -> InvoicePage:
    """One page of the list. A cursor is (direction, sort value, id) of the row to continue from."""
    _, column, descending = SORTS.get(filters.sort, SORTS["-created"])
    position = _decode(cursor, column) if cursor else None
    backwards = bool(position and position.backwards)
    newest_first = descending != backwards
    invoices = invoice_filtered(partner=partner, filters=filters).order_by(
        *((f"-{column}", "-id") if newest_first else (column, "id"))
    )
    # Counted in list order on purpose: the planner then uses the same index as the page itself.
    count = invoices[: COUNT_CAP + 1].count()
    if position:
        invoices = invoices.filter(_beyond(column, position, newest_first))
    fetched = list(invoices.select_related("customer").only(*LIST_FIELDS)[: PAGE_SIZE + 1])
    has_more = len(fetched) > PAGE_SIZE
    rows = fetched[:PAGE_SIZE]
    if backwards:
        rows.reverse()
    at_start = not position or (backwards and not has_more)
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


def invoice_taxes(*, invoice: Invoice, lines=None) -> list[money.TaxLine]:
    """The tax figures an invoice prints: one per rate with the base it is on (core.money). `lines`:
    the invoice's lines when the caller has them already."""
    if lines is None:
        if not invoice.tax_total:
            return []
        lines = invoice.lines.all()
    return money.printed_taxes((line.tax_rate, line.amount, line.tax_amount) for line in lines)


def invoice_events(*, invoice: Invoice):
    return invoice.events.select_related("actor").order_by("created_at", "id")


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
    return (
        Invoice.objects.filter(partner_id=customer.partner_id, customer=customer)
        .select_related("partner")  # Invoice.is_overdue asks the partner for today's date
        .order_by("-created_at", "-id")[:limit]
    )
