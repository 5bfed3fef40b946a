"""Reads for the dashboard and the reports: what is owed, what is late, what came in.

Every figure is defined once, as the invoice list's filters (`figure_filters`), so it links to exactly
the invoices it adds up; it is computed in one index-only pass over a partial covering index
(`invoice_open_by_currency`, `invoice_paid_by_date`) that returns a few grouped rows, so it stays fast for
a partner with 400,000 invoices. "Today" is the partner's today.

Uncollectible invoices are left out of outstanding, overdue and aging: the partner wrote them off, so they
are no longer chased (the customer page still counts them as owed).
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Case, Count, Q, Sum, Value, When

from invoicing.models import NEEDS_ATTENTION, Invoice, InvoiceStatus
from invoicing.selectors import InvoiceFilters, day_start
from partners.models import Partner
from payments.models import Payment
from reminders.selectors import bounced_emails, bounced_recipients_count

DUE_SOON_DAYS = 7  # today and the six days after it
PAID_RECENTLY_DAYS = 30  # today and the 29 days before it
CASH_WEEKS = 12
CUSTOMER_ROWS = 500
# Aging buckets: (key, label, fewest days overdue, most days overdue or None).
BUCKETS = [
    ("current", "Current", None, 0),
    ("d1_30", "1–30 days", 1, 30),  # noqa: RUF001 (an en dash reads as 'to')
    ("d31_60", "31–60 days", 31, 60),  # noqa: RUF001 (an en dash reads as 'to')
    ("d61_90", "61–90 days", 61, 90),  # noqa: RUF001 (an en dash reads as 'to')
    ("d90_plus", "90+ days", 91, None),
]


@dataclass
class Figure:
    """An amount in one currency, how many invoices make it up, and the list filters that show them."""

    amount: int
    count: int
    filters: InvoiceFilters


@dataclass
class CurrencySummary:
    currency: str
    # outstanding, overdue, due_soon, paid, attention
    figures: dict[str, Figure] = field(default_factory=dict)
    aging: list[tuple[str, str, Figure]] = field(default_factory=list)  # (key, label, figure) per bucket

    @property
    def aging_total(self) -> int:
        return sum(figure.amount for _, _, figure in self.aging)


def _bucket_q(today: datetime.date, fewest: int | None, most: int | None) -> Q:
    """Days overdue between fewest and most (inclusive), as conditions on the due date."""
    q = Q()
    if fewest is not None:
        q &= Q(due_date__lte=today - datetime.timedelta(days=fewest))
    else:
        q &= Q(due_date__gte=today)
    if most is not None and fewest is not None:
        q &= Q(due_date__gte=today - datetime.timedelta(days=most))
    return q


def _bucket_filters(today: datetime.date, fewest: int | None, most: int | None, **extra) -> InvoiceFilters:
    if fewest is None:
        return InvoiceFilters(tab="open", due_from=today, sort="due", **extra)
    return InvoiceFilters(
        tab="open",
        due_from=today - datetime.timedelta(days=most) if most is not None else None,
        due_to=today - datetime.timedelta(days=fewest),
        sort="due",
        **extra,
    )


def figure_filters(partner: Partner, currency: str) -> dict[str, InvoiceFilters]:
    """Each dashboard figure as the invoice list's filters: the single definition of what it counts."""
    today = partner.today()
    return {
        "outstanding": InvoiceFilters(tab="open", currency=currency, sort="due"),
        "overdue": InvoiceFilters(tab="overdue", currency=currency, sort="due"),
        "due_soon": InvoiceFilters(
            tab="open",
            currency=currency,
            due_from=today,
            due_to=today + datetime.timedelta(days=DUE_SOON_DAYS - 1),
            sort="due",
        ),
        "paid": InvoiceFilters(
            tab="paid", currency=currency, paid_from=today - datetime.timedelta(days=PAID_RECENTLY_DAYS - 1)
        ),
        "attention": InvoiceFilters(tab="attention", currency=currency, sort="due"),
    }


def _aging_aggregates(today: datetime.date) -> dict:
    """Conditional aggregates for the per-customer aging table: each bucket and the total, in one pass."""
    conditions = {"outstanding": Q()} | {
        key: _bucket_q(today, fewest, most) for key, _, fewest, most in BUCKETS
    }
    aggregates = {}
    for key, condition in conditions.items():
        aggregates[f"{key}_amount"] = Sum("amount_due", filter=condition, default=0)
        aggregates[f"{key}_count"] = Count("due_date", filter=condition)  # in the index; never null
    return aggregates


def _open_invoices(partner: Partner):
    return Invoice.objects.filter(partner=partner, status=InvoiceStatus.OPEN)


def _span(today: datetime.date) -> Case:
    """Which aging bucket an open invoice is in, by its due date; "current" split in two at the end of
    "due in the next 7 days"."""
    last_soon_day = today + datetime.timedelta(days=DUE_SOON_DAYS - 1)
    whens = [
        When(due_date__gt=last_soon_day, then=Value("current")),
        When(due_date__gte=today, then=Value("due_soon")),
    ]
    for key, _, _, most in BUCKETS[1:-1]:
        whens.append(When(due_date__gte=today - datetime.timedelta(days=most), then=Value(key)))
    return Case(*whens, default=Value(BUCKETS[-1][0]))


def _open_totals(partner: Partner, today: datetime.date) -> dict[str, dict[str, list[int]]]:
    """Per currency, {figure or aging bucket: [amount, count]} over the open invoices, in one
    index-only pass that groups by (currency, bucket): a few rows, whatever the number of invoices."""
    attention = NEEDS_ATTENTION  # every row here is open
    rows = (
        _open_invoices(partner)
        .annotate(span=_span(today))
        .values("currency", "span")
        .annotate(
            amount=Sum("amount_due"),
            count=Count("due_date"),
            attention_amount=Sum("amount_due", filter=attention, default=0),
            attention_count=Count("due_date", filter=attention),
        )
        .order_by()
    )
    totals: dict[str, dict[str, list[int]]] = {}
    for row in rows:
        sums = totals.setdefault(row["currency"], defaultdict(lambda: [0, 0]))
        span = row["span"]
        keys = ["outstanding", span]
        if span == "due_soon":
            keys.append("current")
        elif span != "current":
            keys.append("overdue")
        for key in keys:
            sums[key][0] += row["amount"]
            sums[key][1] += row["count"]
        sums["attention"][0] += row["attention_amount"]
        sums["attention"][1] += row["attention_count"]
    return totals


def receivables_summary(*, partner: Partner) -> list[CurrencySummary]:
    """Outstanding, overdue, due soon and needing attention, per currency; with aging. The open invoices
    only: what the reports page shows, without the dashboard's paid-recently pass."""
    today = partner.today()
    return _summaries(partner, today, _open_totals(partner, today))


def dashboard_summary(*, partner: Partner) -> list[CurrencySummary]:
    """Outstanding, overdue, due soon, paid recently and needing attention, per currency; with aging."""
    today = partner.today()
    totals = _open_totals(partner, today)
    since = today - datetime.timedelta(days=PAID_RECENTLY_DAYS - 1)
    paid_rows = (
        Invoice.objects.filter(
            partner=partner, status=InvoiceStatus.PAID, paid_at__gte=day_start(partner, since)
        )
        .values("currency")
        .annotate(amount=Sum("total"), count=Count("*"))
        .order_by("currency")
    )
    for row in paid_rows:
        totals.setdefault(row["currency"], defaultdict(lambda: [0, 0]))["paid"] = [
            row["amount"],
            row["count"],
        ]
    return _summaries(partner, today, totals)


def _summaries(
    partner: Partner, today: datetime.date, totals: dict[str, dict[str, list[int]]]
) -> list[CurrencySummary]:
    summaries = [_summary(partner, today, currency, sums) for currency, sums in totals.items()]
    summaries.sort(key=lambda summary: (summary.currency != partner.default_currency, summary.currency))
    return summaries


def _summary(
    partner: Partner, today: datetime.date, currency: str, sums: dict[str, list[int]]
) -> CurrencySummary:
    filters = figure_filters(partner, currency)
    summary = CurrencySummary(currency=currency)
    for key in ("outstanding", "overdue", "due_soon", "paid", "attention"):
        amount, count = sums.get(key, (0, 0))
        summary.figures[key] = Figure(amount=amount, count=count, filters=filters[key])
    for key, label, fewest, most in BUCKETS:
        amount, count = sums.get(key, (0, 0))
        bucket_filters = _bucket_filters(today, fewest, most, currency=currency)
        summary.aging.append((key, label, Figure(amount=amount, count=count, filters=bucket_filters)))
    return summary


@dataclass
class CustomerAging:
    customer_id: int
    name: str
    buckets: list[Figure]
    total: Figure


def aging_by_customer(*, partner: Partner, currency: str) -> tuple[list[CustomerAging], bool]:
    """The aging buckets per customer in one currency, largest balance first; and whether rows were cut
    at CUSTOMER_ROWS."""
    today = partner.today()
    rows = list(
        _open_invoices(partner)
        .filter(currency=currency)
        .values("customer_id", "customer__name", "customer__company")
        .annotate(**_aging_aggregates(today))
        .order_by("-outstanding_amount", "customer_id")[: CUSTOMER_ROWS + 1]
    )
    result = []
    for row in rows[:CUSTOMER_ROWS]:
        customer_id = row["customer_id"]
        buckets = [
            Figure(
                amount=row[f"{key}_amount"],
                count=row[f"{key}_count"],
                filters=_bucket_filters(today, fewest, most, currency=currency, customer_id=customer_id),
            )
            for key, _, fewest, most in BUCKETS
        ]
        total = Figure(
            amount=row["outstanding_amount"],
            count=row["outstanding_count"],
            filters=InvoiceFilters(tab="open", currency=currency, customer_id=customer_id, sort="due"),
        )
        name = row["customer__company"] or row["customer__name"]
        result.append(CustomerAging(customer_id=customer_id, name=name, buckets=buckets, total=total))
    return result, len(rows) > CUSTOMER_ROWS


@dataclass
class Week:
    start: datetime.date
    amount: int
    count: int


def cash_by_week(*, partner: Partner) -> dict[str, list[Week]]:
    """Money received per week (Monday to Sunday, by the date received), the last CASH_WEEKS weeks
    including this one, per currency. Refunds are not subtracted: this is what came in."""
    today = partner.today()
    first = today - datetime.timedelta(days=today.weekday() + 7 * (CASH_WEEKS - 1))
    # Grouped by day and added up into weeks here: PostgreSQL's date_trunc works on timestamps, so
    # truncating every payment's date (TruncWeek) cost about as much as reading the payments.
    rows = (
        Payment.objects.filter(partner=partner, received_on__gte=first, received_on__lte=today)
        .values_list("currency", "received_on")
        .annotate(amount=Sum("amount"), count=Count("*"))
        .order_by()
    )
    found: dict[str, dict[datetime.date, list[int]]] = {}
    for currency, day, amount, count in rows:
        monday = day - datetime.timedelta(days=day.weekday())
        sums = found.setdefault(currency, {}).setdefault(monday, [0, 0])
        sums[0] += amount
        sums[1] += count
    weeks = [first + datetime.timedelta(weeks=n) for n in range(CASH_WEEKS)]
    ordered = sorted(found.items(), key=lambda item: (item[0] != partner.default_currency, item[0]))
    return {
        currency: [Week(week, *by_week.get(week, (0, 0))) for week in weeks] for currency, by_week in ordered
    }


@dataclass
class Bounces:
    emails: int  # messages that bounced or were marked as spam
    paused_addresses: int  # addresses automatic emails are paused for
    invoices: Figure  # the invoices those messages were about


def bounces(*, partner: Partner) -> Bounces:
    """Bounced emails for the dashboard, from the reminders app, linked to the invoices they were about."""
    counts = bounced_emails(partner=partner).aggregate(
        emails=Count("pk"), invoices=Count("invoice_id", distinct=True)
    )
    invoice_count = counts["invoices"]
    return Bounces(
        emails=counts["emails"],
        paused_addresses=bounced_recipients_count(partner=partner),
        invoices=Figure(amount=0, count=invoice_count, filters=InvoiceFilters(bounced=True)),
    )
