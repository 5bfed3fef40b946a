"""Reads about recurring payments, always scoped to one partner."""

from django.db.models import Prefetch, QuerySet
from django.http import Http404

from core import money
from customers.models import PaymentMethod
from invoicing.models import (
    OPTIONS_NEEDING_A_METHOD,
    PaymentOption,
    RecurringLine,
    RecurringRun,
    RecurringSchedule,
    RecurringStatus,
)
from invoicing.services import lines_totals
from partners.models import Partner

TABS = {
    "all": ("All", None),
    "active": ("Active", [RecurringStatus.ACTIVE]),
    "paused": ("Paused", [RecurringStatus.PAUSED]),
    "ended": ("Ended", [RecurringStatus.CANCELLED, RecurringStatus.COMPLETED]),
    "attention": ("Needs attention", None),  # paused by the job: an invoice could not be made
}


def recurring_get(*, partner: Partner, schedule_id: int) -> RecurringSchedule:
    try:
        return RecurringSchedule.objects.select_related("customer", "partner", "payment_method").get(
            partner=partner, pk=schedule_id
        )
    except RecurringSchedule.DoesNotExist:
        raise Http404("No such recurring payment.") from None


def recurring_list(*, partner: Partner, tab: str = "all") -> QuerySet[RecurringSchedule]:
    """Newest first, with customers and lines (for each row's amount) loaded in two more queries."""
    schedules = RecurringSchedule.objects.filter(partner=partner)
    statuses = TABS.get(tab, TABS["all"])[1]
    if statuses:
        schedules = schedules.filter(status__in=statuses)
    if tab == "attention":
        schedules = schedules.filter(status=RecurringStatus.PAUSED).exclude(problem="")
    lines = Prefetch("lines", queryset=RecurringLine.objects.filter(partner=partner))
    return schedules.select_related("customer").prefetch_related(lines).order_by("-created_at", "-id")


def recurring_runs(*, schedule: RecurringSchedule) -> QuerySet[RecurringRun]:
    """Every period done, newest first, with its invoice (number, status, amounts) and the invoice's
    partner (Invoice.is_overdue asks it for today's date)."""
    return RecurringRun.objects.filter(partner_id=schedule.partner_id, schedule=schedule).select_related(
        "invoice__partner"
    )


def recurring_totals(schedule: RecurringSchedule) -> money.Totals:
    """What each invoice of the schedule bills, by the same function that totals invoices."""
    return lines_totals(list(schedule.lines.all()))


def recurring_method_warning(schedule: RecurringSchedule) -> str:
    """Said on the schedule's page while its payment option has nothing to charge."""
    if schedule.payment_option not in OPTIONS_NEEDING_A_METHOD or schedule.status not in (
        RecurringStatus.ACTIVE,
        RecurringStatus.PAUSED,
    ):
        return ""
    if PaymentMethod.objects.filter(
        partner_id=schedule.partner_id, customer_id=schedule.customer_id, removed_at=None
    ).exists():
        return ""
    option = PaymentOption(schedule.payment_option).label
    return (
        f"{schedule.customer.display_name} has no saved payment method, so {option} can't charge. "
        "Invoices are still issued, stay open and show under Needs attention until you add a payment "
        "method to the customer."
    )
