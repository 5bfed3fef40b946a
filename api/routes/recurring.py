"""Recurring payments: the same services as the recurring payment pages (invoicing.recurring), whose
RecurringInput validation is the only copy of their rules."""

from typing import Literal

from django.http import HttpResponse
from ninja import Query, Router, Schema, Status

from api.pagination import page_by_id
from api.routes.common import (
    LINES_FIELDS,
    body_customer,
    body_lines,
    body_method,
    call_service,
    check_if_match,
    etag,
    refuse_nulls,
    stored_lines,
)
from api.schemas import Id, RecurringCreate, RecurringOut, RecurringPage, RecurringUpdate, Text
from api.serializers import recurring_data
from customers.selectors import customer_payment_methods
from invoicing import recurring
from invoicing import recurring_selectors as selectors
from invoicing.forms import default_payment_option
from invoicing.models import PaymentOption, RecurringEnd, RecurringFrequency, RecurringSchedule

router = Router(tags=["Recurring payments"])

NULLABLE = frozenset({"anchor_day", "end_count", "end_date", "payment_method_id"})


def _schedule(request, schedule_id: int) -> RecurringSchedule:
    return selectors.recurring_get(partner=request.partner, schedule_id=schedule_id)


def schedule_etag(schedule: RecurringSchedule) -> str:
    return etag(schedule.updated_at.timestamp())


class RecurringFilters(Schema):
    status: Literal[tuple(selectors.TABS)] = "all"  # type: ignore[valid-type]
    customer_id: Id | None = None
    cursor: Text(300) | None = None


@router.get("", response=RecurringPage, summary="List recurring payments")
def recurring_list(request, filters: Query[RecurringFilters]):
    """Newest first. `status`: the list page's tabs (`active`, `paused`, `ended`, `attention`: paused by
    the job because an invoice could not be made)."""
    schedules = selectors.recurring_list(partner=request.partner, tab=filters.status)
    if filters.customer_id:
        schedules = schedules.filter(customer_id=filters.customer_id)
    rows, next_cursor = page_by_id(schedules, cursor=filters.cursor)
    return {"data": [recurring_data(schedule) for schedule in rows], "next_cursor": next_cursor}


@router.post("", response={201: RecurringOut}, summary="Create a recurring payment")
def recurring_create(request, payload: RecurringCreate, response: HttpResponse):
    partner = request.partner
    customer = body_customer(request, payload.customer_id)
    data = recurring.RecurringInput(
        customer=customer,
        currency=payload.currency or partner.default_currency,
        lines=body_lines(payload.lines),
        frequency=RecurringFrequency(payload.frequency),
        start_date=payload.start_date or partner.today(),
        interval=payload.interval,
        anchor_day=payload.anchor_day,
        end_mode=RecurringEnd(payload.end_mode),
        end_count=payload.end_count,
        end_date=payload.end_date,
        payment_option=PaymentOption(payload.payment_option or default_payment_option(customer)),
        payment_method=body_method(customer, payload.payment_method_id),
        days_until_due=partner.payment_terms_days
        if payload.days_until_due is None
        else payload.days_until_due,
        memo=partner.default_memo if payload.memo is None else payload.memo,
    )
    schedule = call_service(
        recurring.recurring_create, api_fields=LINES_FIELDS, partner=partner, data=data, created_by=None
    )
    response["ETag"] = schedule_etag(schedule)
    return Status(201, recurring_data(schedule))


@router.get("/{recurring_payment_id}", response=RecurringOut, summary="Read a recurring payment")
def recurring_read(request, recurring_payment_id: Id, response: HttpResponse):
    schedule = _schedule(request, recurring_payment_id)
    response["ETag"] = schedule_etag(schedule)
    return recurring_data(schedule)


@router.patch("/{recurring_payment_id}", response=RecurringOut, summary="Update a recurring payment")
def recurring_update(request, recurring_payment_id: Id, payload: RecurringUpdate, response: HttpResponse):
    """Changes what future invoices bill and when; issued invoices stay as they are. With
    `If-Match: <ETag of the last read>`, a change made meanwhile answers 412."""
    _schedule(request, recurring_payment_id)
    schedule = (
        RecurringSchedule.objects.select_for_update(of=("self",))
        .select_related("partner", "customer")
        .get(partner=request.partner, pk=recurring_payment_id)
    )
    check_if_match(request, schedule_etag(schedule))
    changes = payload.model_dump(exclude_unset=True)
    refuse_nulls(changes, NULLABLE)
    customer = (
        body_customer(request, changes["customer_id"]) if "customer_id" in changes else schedule.customer
    )
    if "payment_method_id" in changes:
        method = body_method(customer, changes["payment_method_id"])
    else:  # kept as the edit page keeps it: gone if it was removed or is another customer's
        method = customer_payment_methods(customer=customer).filter(pk=schedule.payment_method_id).first()
    current = {
        "currency": schedule.currency,
        "frequency": schedule.frequency,
        "interval": schedule.interval,
        "anchor_day": schedule.anchor_day,
        # As the edit page: the next invoice's date is the start (a cancelled or completed schedule has
        # none, and the service refuses to edit it).
        "start_date": schedule.next_period_date or request.partner.today(),
        "end_mode": schedule.end_mode,
        "end_count": schedule.end_count,
        "end_date": schedule.end_date,
        "payment_option": schedule.payment_option,
        "days_until_due": schedule.days_until_due,
        "memo": schedule.memo,
    }
    values = current | {name: value for name, value in changes.items() if name in current}
    data = recurring.RecurringInput(
        customer=customer,
        lines=body_lines(payload.lines) if "lines" in changes else stored_lines(schedule.lines.all()),
        payment_method=method,
        **{
            **values,
            "frequency": RecurringFrequency(values["frequency"]),
            "end_mode": RecurringEnd(values["end_mode"]),
            "payment_option": PaymentOption(values["payment_option"]),
        },
    )
    schedule = call_service(
        recurring.recurring_update, api_fields=LINES_FIELDS, schedule=schedule, data=data, actor=None
    )
    response["ETag"] = schedule_etag(schedule)
    return recurring_data(schedule)


def _action(request, schedule_id: int, service):
    schedule = call_service(service, schedule=_schedule(request, schedule_id), actor=None)
    return recurring_data(schedule)


@router.post("/{recurring_payment_id}/pause", response=RecurringOut, summary="Pause a recurring payment")
def recurring_pause(request, recurring_payment_id: Id):
    """No invoices are issued until it is resumed."""
    return _action(request, recurring_payment_id, recurring.recurring_pause)


@router.post("/{recurring_payment_id}/resume", response=RecurringOut, summary="Resume a recurring payment")
def recurring_resume(request, recurring_payment_id: Id):
    """Invoicing continues from today: periods that passed while it was paused are skipped."""
    return _action(request, recurring_payment_id, recurring.recurring_resume)


@router.post("/{recurring_payment_id}/cancel", response=RecurringOut, summary="Cancel a recurring payment")
def recurring_cancel(request, recurring_payment_id: Id):
    """No further invoices; final. Issued invoices stay as they are."""
    return _action(request, recurring_payment_id, recurring.recurring_cancel)
