"""Recurring payments: the list, "Add recurring payment", a schedule's page with its next issue dates and
the invoices it issued, edit, pause, resume and cancel. Rules live in invoicing.recurring."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core import money
from core.forms import apply_errors
from core.params import parse_id
from customers.selectors import customer_payment_methods
from dashboard.views.invoices import (
    _customer_or_none,
    _follow_default_option,
    _form_context,
    _parse_only,
    form_customer,
    form_lines,
)
from invoicing import recurring
from invoicing import recurring_selectors as selectors
from invoicing.forms import add_blank_line, default_payment_option, lines_as_typed
from invoicing.models import PaymentOption, RecurringEnd, RecurringSchedule
from invoicing.recurring_forms import RecurringForm, parse_date, recurring_initial
from partners.permissions import partner_view

PAGE_SIZE = 50
RUNS_SHOWN = 100  # the latest periods on a schedule's page (a weekly one makes 52 a year)
FIELD_FOR_SERVICE_ERROR = {"customer": "customer_query", "amount": "amount"}


# The list ------------------------------------------------------------------------------------------


@partner_view()
def recurring_list(request):
    tab = request.GET.get("tab") if request.GET.get("tab") in selectors.TABS else "all"
    paginator = Paginator(selectors.recurring_list(partner=request.partner, tab=tab), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    rows = [
        {
            "schedule": schedule,
            "total": money.format_money(selectors.recurring_totals(schedule).total, schedule.currency),
            "cadence": recurring.cadence_label(schedule),
        }
        for schedule in page
    ]
    tabs = [(key, label) for key, (label, _) in selectors.TABS.items()]
    context = {"page": page, "rows": rows, "tab": tab, "tabs": tabs}
    return render(request, "invoicing/recurring_list.html", context)


# Add and edit --------------------------------------------------------------------------------------


def _initial(request, schedule: RecurringSchedule | None) -> dict:
    if schedule is None:
        initial = recurring_initial(request.partner)
        customer = _customer_or_none(request, parse_id(request.GET.get("customer")))
        if customer is not None:  # "Add recurring payment" from a customer's page
            initial["customer"] = customer.pk
        initial["payment_option"] = default_payment_option(customer)
        return initial
    return {
        "customer": schedule.customer_id,
        "currency": schedule.currency,
        "memo": schedule.memo,
        "payment_option": schedule.payment_option,
        "payment_method": schedule.payment_method_id,
        "frequency": schedule.frequency,
        "interval": schedule.interval,
        "anchor_day": schedule.anchor_day,
        "start_date": schedule.next_period_date,  # editing moves the series from its next date
        "end_mode": schedule.end_mode,
        "end_count": schedule.end_count,
        "end_date": schedule.end_date,
        "days_until_due": schedule.days_until_due,
    }


def _schedule_input(request, form: RecurringForm) -> recurring.RecurringInput:
    cleaned = form.cleaned_data
    customer = form_customer(request, form)
    method = None
    if cleaned.get("payment_method"):
        method = customer_payment_methods(customer=customer).filter(pk=cleaned["payment_method"]).first()
    return recurring.RecurringInput(
        customer=customer,
        currency=cleaned["currency"],
        lines=form_lines(cleaned),
        frequency=cleaned["frequency"],
        start_date=cleaned["start_date"],
        interval=cleaned.get("interval") or 1,
        anchor_day=cleaned.get("anchor_day"),
        end_mode=RecurringEnd(cleaned["end_mode"]),
        end_count=cleaned.get("end_count"),
        end_date=cleaned.get("end_date"),
        payment_option=PaymentOption(cleaned["payment_option"]),
        payment_method=method,
        days_until_due=cleaned["days_until_due"],
        memo=cleaned.get("memo", ""),
    )


def _save(request, form: RecurringForm, schedule: RecurringSchedule | None) -> RecurringSchedule | None:
    try:
        with transaction.atomic():
            data = _schedule_input(request, form)
            if schedule is None:
                return recurring.recurring_create(partner=request.partner, data=data, created_by=request.user)
            return recurring.recurring_update(schedule=schedule, data=data, actor=request.user)
    except ValidationError as error:
        apply_errors(form, error, FIELD_FOR_SERVICE_ERROR)
        return None


def _preview(form: RecurringForm, schedule: RecurringSchedule | None) -> dict:
    """The next issue dates from what is typed so far (nothing when the timing is incomplete)."""
    values = form.cleaned_data if form.is_bound else form.initial
    start, frequency = values.get("start_date"), values.get("frequency")
    if form.is_bound and start is None:
        start = parse_date(form.data.get("start_date"))
    if not start or not frequency:
        return {"preview_dates": None}
    cadence = recurring.make_cadence(
        frequency=frequency,
        start_date=start,
        interval=values.get("interval"),
        anchor_day=values.get("anchor_day"),
    )
    dates = recurring.preview_dates(
        cadence=cadence,
        end_mode=values.get("end_mode") or RecurringEnd.NEVER,
        end_count=values.get("end_count"),
        end_date=values.get("end_date"),
        issued=schedule.invoices_issued if schedule else 0,
        count=recurring.PREVIEW_COUNT + 1,  # one more says whether the shown ones are the last
    )
    shown = dates[: recurring.PREVIEW_COUNT]
    return {"preview_dates": shown, "preview_complete": len(dates) == len(shown)}


def _form_page(request, schedule: RecurringSchedule | None):
    data = request.POST.copy() if request.method == "POST" else None
    action = data.get("action") if data else None
    if action == "change_customer":
        data["customer"] = ""
    if schedule is None and data is not None and action != "save":
        _follow_default_option(request, data)  # "Search", "Change customer", "Add line" re-render the page
    if action == "add_line":
        add_blank_line(data)
    lines = lines_as_typed(schedule.lines.all(), schedule.currency) if schedule and data is None else None
    form = RecurringForm(data, partner=request.partner, initial=_initial(request, schedule), lines=lines)
    if schedule is not None:
        form.fields["start_date"].label = "Next invoice on"
        form.fields[
            "start_date"
        ].help_text = "Changing it, the frequency or the day restarts the schedule there."
    if action == "save":
        if form.is_valid():
            saved = _save(request, form, schedule)
            if saved is not None:
                verb = "saved" if schedule else "added"
                messages.success(request, f"Recurring payment {verb}.")
                return redirect("recurring_detail", schedule_id=saved.pk)
    elif form.is_bound:
        _parse_only(form)
    context = _form_context(request, form) | _preview(form, schedule) | {"schedule": schedule}
    return render(request, "invoicing/recurring_form.html", context)


@partner_view()
def recurring_create(request):
    return _form_page(request, None)


@partner_view()
def recurring_edit(request, schedule_id: int):
    schedule = selectors.recurring_get(partner=request.partner, schedule_id=schedule_id)
    if schedule.status not in recurring.EDITABLE_STATUSES:
        messages.error(request, f"This recurring payment is {schedule.get_status_display().lower()}.")
        return redirect("recurring_detail", schedule_id=schedule.pk)
    return _form_page(request, schedule)


@partner_view()
def recurring_preview(request):
    """htmx: the next six issue dates, recomputed as the frequency, day, start and end change."""
    schedule = None
    if schedule_id := parse_id(request.GET.get("schedule")):
        schedule = selectors.recurring_get(partner=request.partner, schedule_id=schedule_id)
    form = RecurringForm(request.GET or None, partner=request.partner, initial=_initial(request, schedule))
    if form.is_bound:
        _parse_only(form)
    context = {"partner": request.partner} | _preview(form, schedule)
    return render(request, "invoicing/_recurring_preview.html", context)


# A schedule's page and its actions ---------------------------------------------------------------


@partner_view()
def recurring_detail(request, schedule_id: int):
    schedule = selectors.recurring_get(partner=request.partner, schedule_id=schedule_id)
    runs = list(selectors.recurring_runs(schedule=schedule)[: RUNS_SHOWN + 1])
    context = {
        "schedule": schedule,
        "cadence": recurring.cadence_label(schedule),
        "totals": selectors.recurring_totals(schedule),
        "upcoming": recurring.upcoming_dates(schedule),
        "runs": runs[:RUNS_SHOWN],
        "more_runs": len(runs) > RUNS_SHOWN,
        "method_warning": selectors.recurring_method_warning(schedule),
        "today": request.partner.today(),
        "editable": schedule.status in recurring.EDITABLE_STATUSES,
    }
    return render(request, "invoicing/recurring_detail.html", context)


def _action(request, schedule_id: int, action, success: str):
    schedule = selectors.recurring_get(partner=request.partner, schedule_id=schedule_id)
    try:
        action(schedule=schedule, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, success)
    return redirect("recurring_detail", schedule_id=schedule.pk)


@require_POST
@partner_view()
def recurring_pause(request, schedule_id: int):
    return _action(
        request, schedule_id, recurring.recurring_pause, "Paused. No invoices are issued until you resume."
    )


@require_POST
@partner_view()
def recurring_resume(request, schedule_id: int):
    return _action(
        request,
        schedule_id,
        recurring.recurring_resume,
        "Resumed. Dates that passed while it was paused are skipped.",
    )


@require_POST
@partner_view()
def recurring_cancel(request, schedule_id: int):
    return _action(request, schedule_id, recurring.recurring_cancel, "Cancelled. No further invoices.")
