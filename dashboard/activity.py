"""The partner's activity log: who did what, and when, to money and settings.

Two append-only sources, each written in the same transaction as the change it records, read here as
one list: invoicing.InvoiceEvent (every invoice's timeline: created, finalized, voided, payments,
refunds, credit notes and customer credit; services write it from the one function that changes the
invoice) and partners.AuditEvent (business details, invoice settings, the team). Nothing is copied
from one to the other, so a line can't be missing from the log while present on the invoice.

Timeline lines that move no money (sent, viewed, pay link reissued, reminders) are left out; any other
kind, including ones added later, is shown, under "Other" until it is given a group.
"""

import base64
import datetime
import json
from dataclasses import dataclass

from django.db.models import CharField, F, IntegerField, Q, QuerySet, Value

from invoicing.models import EventKind, InvoiceEvent
from invoicing.selectors import day_end, day_start
from partners.models import AuditEvent, AuditKind, Partner, User

PAGE_SIZE = 50
NOT_LOGGED = [
    EventKind.SENT,
    EventKind.VIEWED,
    EventKind.PAY_LINK_REISSUED,
    EventKind.REMINDER_SENT,
    EventKind.EMAIL,
]
GROUPS = {
    "invoices": (
        "Invoices (created, issued, voided)",
        [
            EventKind.CREATED,
            EventKind.UPDATED,
            EventKind.FINALIZED,
            EventKind.MEMO_CHANGED,
            EventKind.VOIDED,
            EventKind.UNCOLLECTIBLE,
            EventKind.DUPLICATED,
            EventKind.RECURRING,
        ],
    ),
    "payments": (
        "Payments and charges",
        [
            EventKind.PAYMENT_ATTEMPTED,
            EventKind.PAYMENT_PROCESSING,
            EventKind.PAYMENT_FAILED,
            EventKind.PAYMENT_RECORDED,
            EventKind.PAID,
            EventKind.CHARGE_SCHEDULED,
            EventKind.COLLECTION_STOPPED,
        ],
    ),
    "refunds": ("Refunds and disputes", [EventKind.REFUNDED, EventKind.DISPUTE]),
    "credit": (
        "Credit notes and customer credit",
        [EventKind.CREDIT_NOTE, EventKind.CREDIT_APPLIED, EventKind.CREDIT_ADDED],
    ),
    "settings": ("Settings, team and payment methods", list(AuditKind)),
    "other": ("Other", []),
}
SYSTEM, CUSTOMER = "system", "customer"
INVOICE_SOURCE, AUDIT_SOURCE = 1, 2
KIND_LABELS = dict(EventKind.choices) | dict(AuditKind.choices)


@dataclass
class ActivityFilters:
    group: str = ""
    person: str = ""  # a user id, SYSTEM or CUSTOMER
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None


@dataclass
class Activity:
    source: int
    id: int
    created_at: datetime.datetime
    kind: str
    kind_label: str
    message: str
    who: str
    invoice_id: int | None
    invoice_number: str
    changes: dict


@dataclass
class ActivityPage:
    rows: list[Activity]
    next_cursor: str | None


def _grouped_kinds() -> list[str]:
    return [kind for _, kinds in GROUPS.values() for kind in kinds]


def _by_person(events: QuerySet, person: str) -> QuerySet:
    """A team member's lines (by user id), the customers' (pay portal) or the rest done by no one
    (jobs, automatic charges)."""
    if person == SYSTEM:
        return events.filter(actor__isnull=True).exclude(actor_label="Customer")
    if person == CUSTOMER:
        return events.filter(actor__isnull=True, actor_label="Customer")
    return events.filter(actor_id=int(person)) if person else events


def _invoice_side(partner: Partner, filters: ActivityFilters) -> QuerySet | None:
    events = InvoiceEvent.objects.filter(partner=partner).exclude(kind__in=NOT_LOGGED)
    if filters.group == "settings":
        return None
    if filters.group == "other":
        events = events.exclude(kind__in=_grouped_kinds())
    elif filters.group in GROUPS:
        events = events.filter(kind__in=GROUPS[filters.group][1])
    return _by_person(events, filters.person).values(
        "id", "created_at", "kind", "message", "actor_id", "actor_label", "invoice_id",
        source=Value(INVOICE_SOURCE, output_field=IntegerField()),
        invoice_number=F("invoice__number"),
    )  # fmt: skip


def _audit_side(partner: Partner, filters: ActivityFilters) -> QuerySet | None:
    if filters.group and filters.group != "settings":
        return None
    events = AuditEvent.objects.filter(partner=partner)
    return _by_person(events, filters.person).values(
        "id", "created_at", "kind", "message", "actor_id", "actor_label",
        invoice_id=Value(None, output_field=IntegerField()),
        source=Value(AUDIT_SOURCE, output_field=IntegerField()),
        invoice_number=Value("", output_field=CharField()),
    )  # fmt: skip


def _in_range(partner: Partner, events: QuerySet, filters: ActivityFilters) -> QuerySet:
    if filters.date_from:
        events = events.filter(created_at__gte=day_start(partner, filters.date_from))
    if filters.date_to:
        events = events.filter(created_at__lt=day_end(partner, filters.date_to))
    return events


def _after(events: QuerySet, source: int, cursor: tuple) -> QuerySet:
    """Rows that come after the cursor in (created_at, source, id) descending order, for one source."""
    created_at, cursor_source, cursor_id = cursor
    if source < cursor_source:
        return events.filter(created_at__lte=created_at)
    if source > cursor_source:
        return events.filter(created_at__lt=created_at)
    # The redundant `created_at <=` gives PostgreSQL a bound for an index range scan.
    earlier = Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=cursor_id)
    return events.filter(earlier, created_at__lte=created_at)


def activity_page(
    *, partner: Partner, filters: ActivityFilters, cursor: str = "", limit: int = PAGE_SIZE
) -> ActivityPage:
    """One page of the log, newest first, continuing after `cursor` (keyset: no OFFSET)."""
    position = _decode(cursor)
    sides = []
    for source, side in ((INVOICE_SOURCE, _invoice_side), (AUDIT_SOURCE, _audit_side)):
        events = side(partner, filters)
        if events is None:
            continue
        events = _in_range(partner, events, filters)
        if position:
            events = _after(events, source, position)
        sides.append(events.order_by("-created_at", "-id")[: limit + 1])
    if not sides:
        return ActivityPage(rows=[], next_cursor=None)
    if len(sides) == 1:
        rows = list(sides[0])
    else:
        combined = sides[0].union(*sides[1:], all=True)
        rows = list(combined.order_by("-created_at", "-source", "-id")[: limit + 1])
    has_more = len(rows) > limit
    activities = _activities(rows[:limit])
    last = activities[-1] if activities else None
    next_cursor = _encode([last.created_at.isoformat(), last.source, last.id]) if has_more and last else None
    return ActivityPage(rows=activities, next_cursor=next_cursor)


def _activities(rows: list[dict]) -> list[Activity]:
    """Rows with names: the people in one query, the settings changes in another."""
    users = {
        user.pk: user
        for user in User.objects.filter(pk__in={row["actor_id"] for row in rows if row["actor_id"]})
    }
    audit_ids = [row["id"] for row in rows if row["source"] == AUDIT_SOURCE]
    changes = (
        dict(AuditEvent.objects.filter(pk__in=audit_ids).values_list("pk", "changes")) if audit_ids else {}
    )
    result = []
    for row in rows:
        user = users.get(row["actor_id"])
        who = user.get_full_name() if user else (row["actor_label"] or "System")
        result.append(
            Activity(
                source=row["source"],
                id=row["id"],
                created_at=row["created_at"],
                kind=row["kind"],
                kind_label=KIND_LABELS.get(row["kind"], row["kind"]),
                message=row["message"],
                who=who,
                invoice_id=row["invoice_id"],
                invoice_number=row["invoice_number"] or ("Draft" if row["invoice_id"] else ""),
                changes=changes.get(row["id"], {}) if row["source"] == AUDIT_SOURCE else {},
            )
        )
    return result


def activity_people(*, partner: Partner) -> list[tuple[str, str]]:
    """Who the log can be filtered by: the team, the system (jobs, automatic charges) and customers."""
    team = User.objects.filter(memberships__partner=partner).order_by("full_name", "email")
    return [(str(user.pk), user.get_full_name()) for user in team] + [
        (SYSTEM, "System"),
        (CUSTOMER, "Customer"),
    ]


def _encode(values: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple | None:
    if not cursor:
        return None
    try:
        created_at, source, row_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        moment = datetime.datetime.fromisoformat(created_at)
        if moment.tzinfo is None or source not in (INVOICE_SOURCE, AUDIT_SOURCE):
            return None
        if not isinstance(row_id, int) or not 0 < row_id < 2**63:
            return None
        return moment, source, row_id
    except (ValueError, TypeError):
        return None
