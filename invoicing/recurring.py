"""Recurring payments: the period calendar and every write to a schedule (add, edit, pause, resume,
cancel). The beat job that issues due invoices, exactly once per (schedule, period), is invoicing.jobs.
"""

import calendar
import dataclasses
import datetime

from django.core.exceptions import ValidationError
from django.db import transaction

from core import money
from core.formats import format_day
from customers.models import Customer, PaymentMethod
from invoicing.models import (
    PaymentOption,
    RecurringEnd,
    RecurringFrequency,
    RecurringLine,
    RecurringOutcome,
    RecurringRun,
    RecurringSchedule,
    RecurringStatus,
)
from invoicing.services import (
    LineInput,
    amount_refusal,
    lines_totals,
)
from partners.models import Partner, User

PREVIEW_COUNT = 6
MONTHS_PER_STEP = {
    RecurringFrequency.MONTHLY: 1,
    RecurringFrequency.QUARTERLY: 3,
    RecurringFrequency.YEARLY: 12,
}
MAX_INTERVAL = {"weeks": 52, "months": 24}
MAX_DAYS_UNTIL_DUE = 365
MAX_END_COUNT = 1000  # invoices in a series that ends after a count
MAX_START_AHEAD_YEARS = 10  # a first date further off is a typo (and dates end in the year 9999)
EDITABLE_STATUSES = (RecurringStatus.ACTIVE, RecurringStatus.PAUSED)


# The calendar ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Cadence:
    """When a schedule's periods fall: period `index` is computed from the start, never from the
    period before, so clamping Jan 31 to Feb 28 does not drag March to the 28th."""

    frequency: RecurringFrequency
    interval: int
    anchor_day: int | None  # day of month for monthly and longer; 31 is the month's last day
    start_date: datetime.date

    @property
    def unit(self) -> str:
        weekly = self.frequency in (RecurringFrequency.WEEKLY, RecurringFrequency.EVERY_N_WEEKS)
        return "weeks" if weekly else "months"

    @property
    def step(self) -> int:
        if self.frequency in (RecurringFrequency.EVERY_N_WEEKS, RecurringFrequency.EVERY_N_MONTHS):
            return self.interval
        return MONTHS_PER_STEP.get(self.frequency, 1)

    def period(self, index: int) -> datetime.date:
        if self.unit == "weeks":
            return self.start_date + datetime.timedelta(weeks=self.step * index)
        first = _first_monthly(self.start_date, self.anchor_day or self.start_date.day)
        return _month_day(first.year, first.month + self.step * index, self.anchor_day or first.day)


def _month_day(year: int, month: int, day: int) -> datetime.date:
    """`day` of the month `month` (which may run past 12), or the month's last day if it is shorter."""
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return datetime.date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _first_monthly(start: datetime.date, anchor_day: int) -> datetime.date:
    """The first anchor day on or after the start date."""
    candidate = _month_day(start.year, start.month, anchor_day)
    return candidate if candidate >= start else _month_day(start.year, start.month + 1, anchor_day)


def cadence_of(schedule: RecurringSchedule) -> Cadence:
    return Cadence(
        frequency=RecurringFrequency(schedule.frequency),
        interval=schedule.interval,
        anchor_day=schedule.anchor_day,
        start_date=schedule.start_date,
    )


def _is_past_end(schedule: RecurringSchedule, period: datetime.date, issued: int) -> bool:
    if schedule.end_mode == RecurringEnd.AFTER_COUNT:
        return issued >= (schedule.end_count or 0)
    if schedule.end_mode == RecurringEnd.ON_DATE:
        return period > schedule.end_date
    return False


def make_cadence(
    *,
    frequency: RecurringFrequency,
    start_date: datetime.date,
    interval: int | None = None,
    anchor_day: int | None = None,
) -> Cadence:
    """The cadence as stored: the interval only counts for "every N", the day of month only for months
    (the start date's day when none is chosen)."""
    frequency = RecurringFrequency(frequency)
    weekly = frequency in (RecurringFrequency.WEEKLY, RecurringFrequency.EVERY_N_WEEKS)
    every_n = frequency in (RecurringFrequency.EVERY_N_WEEKS, RecurringFrequency.EVERY_N_MONTHS)
    return Cadence(
        frequency=frequency,
        interval=(interval or 1) if every_n else 1,
        anchor_day=None if weekly else (anchor_day or start_date.day),
        start_date=start_date,
    )


def preview_dates(
    *,
    cadence: Cadence,
    end_mode: RecurringEnd,
    end_count: int | None = None,
    end_date: datetime.date | None = None,
    from_index: int = 0,
    issued: int = 0,
    count: int = PREVIEW_COUNT,
) -> list[datetime.date]:
    """The next issue dates, as the job will issue them if nothing is skipped or paused."""
    ending = RecurringSchedule(end_mode=end_mode, end_count=end_count, end_date=end_date)
    dates: list[datetime.date] = []
    index = from_index
    while len(dates) < count:
        try:
            period = cadence.period(index)
        except (OverflowError, ValueError):  # past the year 9999, which a date can't hold
            break
        if _is_past_end(ending, period, issued + len(dates)):
            break
        dates.append(period)
        index += 1
    return dates


def upcoming_dates(schedule: RecurringSchedule, count: int = PREVIEW_COUNT) -> list[datetime.date]:
    if schedule.status in (RecurringStatus.CANCELLED, RecurringStatus.COMPLETED):
        return []
    return preview_dates(
        cadence=cadence_of(schedule),
        end_mode=schedule.end_mode,
        end_count=schedule.end_count,
        end_date=schedule.end_date,
        from_index=schedule.next_index,
        issued=schedule.invoices_issued,
        count=count,
    )


def _ordinal(day: int) -> str:
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def day_label(day: int) -> str:
    """A day of the month as partners read it; past the 28th, shorter months use their last day."""
    if day == 31:
        return "Last day of the month"
    return f"{_ordinal(day)}, or the month's last day" if day >= 29 else _ordinal(day)


def cadence_label(schedule: RecurringSchedule) -> str:
    """How often, in words: "Monthly on the 31st (the last day in shorter months)", "Every 2 weeks"."""
    frequency = RecurringFrequency(schedule.frequency)
    if frequency == RecurringFrequency.WEEKLY:
        return f"Weekly on {schedule.start_date:%A}s"
    if frequency == RecurringFrequency.EVERY_N_WEEKS:
        return f"Every {schedule.interval} weeks on {schedule.start_date:%A}s"
    every = {
        RecurringFrequency.MONTHLY: "Monthly",
        RecurringFrequency.QUARTERLY: "Quarterly",
        RecurringFrequency.YEARLY: f"Yearly in {schedule.start_date:%B}",
        RecurringFrequency.EVERY_N_MONTHS: f"Every {schedule.interval} months",
    }[frequency]
    return f"{every} on the {day_label(schedule.anchor_day).replace('Last day', 'last day')}"


# Writing schedules -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RecurringInput:
    customer: Customer
    currency: str
    lines: list[LineInput]
    frequency: RecurringFrequency
    start_date: datetime.date
    interval: int = 1
    anchor_day: int | None = None
    end_mode: RecurringEnd = RecurringEnd.NEVER
    end_count: int | None = None
    end_date: datetime.date | None = None
    payment_option: PaymentOption = PaymentOption.CHARGE_LATER
    payment_method: PaymentMethod | None = None
    days_until_due: int = 30
    memo: str = ""

    def cadence(self) -> Cadence:
        return make_cadence(
            frequency=self.frequency,
            start_date=self.start_date,
            interval=self.interval,
            anchor_day=self.anchor_day,
        )


TIMING_FIELDS = ("frequency", "interval", "anchor_day", "start_date")


def recurring_validate(*, partner: Partner, data: RecurringInput, earliest_start: datetime.date) -> None:
    """Raises ValidationError by field name. `earliest_start`: the first date the series may (re)start."""
    errors: dict[str, str] = {}
    customer = data.customer
    if customer is None or customer.partner_id != partner.pk:
        errors["customer"] = "Choose a customer."
    elif customer.is_archived:
        errors["customer"] = f"{customer.display_name} is archived. Restore the customer to bill them."
    if data.currency not in money.CURRENCY_EXPONENTS:
        errors["currency"] = "Choose one of the listed currencies."
    total = lines_totals(data.lines).total
    if not data.lines or total <= 0:
        errors["amount"] = "The amount must be greater than zero."
    elif total >= money.MAX_AMOUNT_MINOR:
        errors["amount"] = "That total is too large for one invoice."
    elif refusal := amount_refusal(partner=partner, amount=total, currency=data.currency):
        errors["amount"] = refusal
    cadence = data.cadence()
    limit = MAX_INTERVAL[cadence.unit]
    if not 1 <= cadence.interval <= limit:
        errors["interval"] = f"Enter a number of {cadence.unit} from 1 to {limit}."
    if data.anchor_day is not None and not 1 <= data.anchor_day <= 31:
        errors["anchor_day"] = "Choose a day of the month from 1 to 31."
    latest_start = _month_day(
        earliest_start.year + MAX_START_AHEAD_YEARS, earliest_start.month, earliest_start.day
    )
    if data.start_date < earliest_start:
        errors["start_date"] = f"Choose {format_day(earliest_start)} or later."
    elif data.start_date > latest_start:
        errors["start_date"] = f"Choose {format_day(latest_start)} or earlier."
    if data.end_mode == RecurringEnd.AFTER_COUNT and not 1 <= (data.end_count or 0) <= MAX_END_COUNT:
        errors["end_count"] = f"Enter how many invoices to issue, from 1 to {MAX_END_COUNT}."
    if data.end_mode == RecurringEnd.ON_DATE and (data.end_date is None or data.end_date < data.start_date):
        errors["end_date"] = "Choose an end date on or after the start date."
    if not 0 <= data.days_until_due <= MAX_DAYS_UNTIL_DUE:
        errors["days_until_due"] = f"Enter 0 to {MAX_DAYS_UNTIL_DUE} days."
    if "customer" not in errors and (method_error := _method_error(data)):
        errors["payment_method"] = method_error
    if errors:
        raise ValidationError(errors)


def _method_error(data: RecurringInput) -> str:
    """A chosen method must be the customer's; Charge method on file needs one chosen when the customer
    has any. No saved method at all is allowed: the invoices are issued and flagged (see the job)."""
    method, customer = data.payment_method, data.customer
    if method is not None and (method.customer_id != customer.pk or method.removed_at is not None):
        return "Choose one of the customer's saved payment methods."
    if (
        data.payment_option == PaymentOption.CHARGE_METHOD_ON_FILE
        and method is None
        and PaymentMethod.objects.filter(customer=customer, removed_at=None).exists()
    ):
        return f"Choose which of {customer.display_name}'s saved payment methods to charge."
    return ""


def _write(schedule: RecurringSchedule, data: RecurringInput) -> None:
    """Everything but the timing, which only changes by restarting the series (`_write_timing`)."""
    schedule.customer = data.customer
    schedule.currency = data.currency
    schedule.end_mode = data.end_mode
    schedule.end_count = data.end_count if data.end_mode == RecurringEnd.AFTER_COUNT else None
    schedule.end_date = data.end_date if data.end_mode == RecurringEnd.ON_DATE else None
    schedule.payment_option = data.payment_option
    schedule.payment_method = data.payment_method
    schedule.days_until_due = data.days_until_due
    schedule.memo = data.memo


def _write_timing(schedule: RecurringSchedule, cadence: Cadence) -> None:
    schedule.frequency = cadence.frequency
    schedule.interval = cadence.interval
    schedule.anchor_day = cadence.anchor_day
    schedule.start_date = cadence.start_date
    schedule.next_index = 0


def _write_lines(schedule: RecurringSchedule, lines: list[LineInput]) -> None:
    schedule.lines.all().delete()
    RecurringLine.objects.bulk_create(
        RecurringLine(
            partner_id=schedule.partner_id,
            schedule=schedule,
            position=position,
            description=line.description,
            quantity=money.quantize_quantity(line.quantity),  # as each invoice will price it
            unit_price=line.unit_price,
            tax_rate=money.quantize_tax_rate(line.tax_rate),
        )
        for position, line in enumerate(lines)
    )


def schedule_set_next(schedule: RecurringSchedule) -> None:
    """Point the schedule at period `next_index`, or complete it if that period is past its end."""
    period = cadence_of(schedule).period(schedule.next_index)
    if _is_past_end(schedule, period, schedule.invoices_issued):
        schedule.status, schedule.next_period_date = RecurringStatus.COMPLETED, None
    else:
        schedule.next_period_date = period


@transaction.atomic
def recurring_create(*, partner: Partner, data: RecurringInput, created_by: User | None) -> RecurringSchedule:
    recurring_validate(partner=partner, data=data, earliest_start=partner.today())
    schedule = RecurringSchedule(partner=partner, created_by=created_by)
    _write(schedule, data)
    _write_timing(schedule, data.cadence())
    schedule_set_next(schedule)
    schedule.save()
    _write_lines(schedule, data.lines)
    return schedule


def _lock(schedule: RecurringSchedule) -> RecurringSchedule:
    return (
        RecurringSchedule.objects.select_for_update(of=("self",))
        .select_related("partner", "customer")
        .get(pk=schedule.pk, partner_id=schedule.partner_id)
    )


def _restart_earliest(schedule: RecurringSchedule) -> datetime.date:
    """A restarted series begins today or later, and after every period already done."""
    earliest = schedule.partner.today()
    last = schedule.runs.order_by("-period_date").values_list("period_date", flat=True).first()
    return max(earliest, last + datetime.timedelta(days=1)) if last else earliest


@transaction.atomic
def recurring_update(
    *, schedule: RecurringSchedule, data: RecurringInput, actor: User | None
) -> RecurringSchedule:
    """Change what future invoices bill and when; issued invoices stay as they are. The form shows the
    next issue date as the start: changing it, the frequency or the day restarts the series there."""
    schedule = _lock(schedule)
    if schedule.status not in EDITABLE_STATUSES:
        status = schedule.get_status_display().lower()
        raise ValidationError(f"A {status} recurring payment can't be edited.")
    current = dataclasses.replace(cadence_of(schedule), start_date=schedule.next_period_date)
    retimed = data.cadence() != current
    earliest = _restart_earliest(schedule) if retimed else data.start_date
    recurring_validate(partner=schedule.partner, data=data, earliest_start=earliest)
    _write(schedule, data)
    if retimed:
        _write_timing(schedule, data.cadence())
    schedule_set_next(schedule)
    schedule.save()
    _write_lines(schedule, data.lines)
    return schedule


@transaction.atomic
def recurring_pause(*, schedule: RecurringSchedule, actor: User | None) -> RecurringSchedule:
    schedule = _lock(schedule)
    if schedule.status != RecurringStatus.ACTIVE:
        raise ValidationError("Only an active recurring payment can be paused.")
    schedule.status = RecurringStatus.PAUSED
    schedule.save(update_fields=["status", "updated_at"])
    return schedule


@transaction.atomic
def recurring_resume(*, schedule: RecurringSchedule, actor: User | None) -> RecurringSchedule:
    """Invoicing continues from today: periods that passed while paused are recorded as skipped
    (a pause means "don't bill for this time"); today's period is still issued."""
    schedule = _lock(schedule)
    if schedule.status != RecurringStatus.PAUSED:
        raise ValidationError("Only a paused recurring payment can be resumed.")
    today = schedule.partner.today()
    skipped = []
    schedule.status = RecurringStatus.ACTIVE
    while schedule.next_period_date is not None and schedule.next_period_date < today:
        skipped.append(skipped_run(schedule, note="Skipped: the recurring payment was paused."))
        schedule.next_index += 1
        schedule_set_next(schedule)
    RecurringRun.objects.bulk_create(skipped)
    schedule.problem = ""
    schedule.save()
    return schedule


@transaction.atomic
def recurring_cancel(*, schedule: RecurringSchedule, actor: User | None) -> RecurringSchedule:
    """No further invoices. Final: issued invoices stay as they are."""
    schedule = _lock(schedule)
    if schedule.status not in EDITABLE_STATUSES:
        status = schedule.get_status_display().lower()
        raise ValidationError(f"This recurring payment is already {status}.")
    schedule.status, schedule.next_period_date, schedule.problem = RecurringStatus.CANCELLED, None, ""
    schedule.save(update_fields=["status", "next_period_date", "problem", "updated_at"])
    return schedule


def skipped_run(schedule: RecurringSchedule, *, note: str) -> RecurringRun:
    return RecurringRun(
        partner_id=schedule.partner_id,
        schedule=schedule,
        period_date=schedule.next_period_date,
        outcome=RecurringOutcome.SKIPPED,
        note=note,
    )
