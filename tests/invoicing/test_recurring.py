"""Recurring payments: the calendar, and the job issuing exactly one invoice per period in each
partner's time zone, across DST changes, month ends, leap years and outages. Time is frozen."""

import datetime
import zoneinfo
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django_scopes import scope, scopes_disabled

from customers.models import Customer
from invoicing import jobs, recurring
from invoicing.jobs import recurring_issue_due
from invoicing.models import (
    EventKind,
    Invoice,
    InvoiceStatus,
    PaymentOption,
    RecurringEnd,
    RecurringFrequency,
    RecurringOutcome,
    RecurringRun,
    RecurringSchedule,
    RecurringStatus,
)
from invoicing.recurring import Cadence
from invoicing.selectors import InvoiceFilters, invoice_filtered
from invoicing.services import LineInput
from tests.factories import PartnerFactory
from tests.factories.invoicing import customer_for
from tests.factories.payments import card_for
from tests.factories.recurring import make_schedule, recurring_input

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
D = datetime.date


def at(when: datetime.datetime):
    return time_machine.travel(when, tick=False)


def local(zone: str, *args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=zoneinfo.ZoneInfo(zone))


def issued(schedule) -> list[Invoice]:
    with scopes_disabled():
        return list(Invoice.objects.filter(recurring_run__schedule=schedule).order_by("issue_date", "id"))


def runs(schedule) -> list[tuple[datetime.date, str]]:
    with scopes_disabled():
        return list(
            RecurringRun.objects.filter(schedule=schedule)
            .order_by("period_date")
            .values_list("period_date", "outcome")
        )


def refreshed(schedule) -> RecurringSchedule:
    with scopes_disabled():
        return RecurringSchedule.objects.get(pk=schedule.pk)


def run_hourly(start: datetime.datetime, hours: int) -> dict[int, datetime.datetime]:
    """Run the job at every whole UTC hour from `start`; returns when each invoice was issued."""
    first_seen: dict[int, datetime.datetime] = {}
    for hour in range(hours):
        now = start + datetime.timedelta(hours=hour)
        with at(now):
            recurring_issue_due()
        with scopes_disabled():
            for pk in Invoice.objects.values_list("pk", flat=True):
                first_seen.setdefault(pk, now)
    return first_seen


# The calendar ------------------------------------------------------------------------------------


def dates(cadence: Cadence, count: int) -> list[datetime.date]:
    return [cadence.period(index) for index in range(count)]


def test_the_31st_is_the_last_day_of_shorter_months_and_comes_back_in_march():
    cadence = Cadence(RecurringFrequency.MONTHLY, 1, 31, D(2027, 1, 31))
    assert dates(cadence, 4) == [D(2027, 1, 31), D(2027, 2, 28), D(2027, 3, 31), D(2027, 4, 30)]
    leap = Cadence(RecurringFrequency.MONTHLY, 1, 31, D(2028, 1, 31))
    assert dates(leap, 3) == [D(2028, 1, 31), D(2028, 2, 29), D(2028, 3, 31)]


def test_yearly_on_february_29_falls_on_the_28th_except_in_leap_years():
    cadence = Cadence(RecurringFrequency.YEARLY, 1, 29, D(2028, 2, 29))
    assert dates(cadence, 5) == [
        D(2028, 2, 29),
        D(2029, 2, 28),
        D(2030, 2, 28),
        D(2031, 2, 28),
        D(2032, 2, 29),
    ]


def test_weekly_quarterly_and_every_n():
    assert dates(Cadence(RecurringFrequency.EVERY_N_WEEKS, 2, None, D(2026, 12, 28)), 3) == [
        D(2026, 12, 28),
        D(2027, 1, 11),
        D(2027, 1, 25),
    ]
    assert dates(Cadence(RecurringFrequency.QUARTERLY, 1, 30, D(2026, 11, 30)), 4) == [
        D(2026, 11, 30),
        D(2027, 2, 28),
        D(2027, 5, 30),
        D(2027, 8, 30),
    ]
    assert dates(Cadence(RecurringFrequency.EVERY_N_MONTHS, 5, 15, D(2026, 12, 1)), 2) == [
        D(2026, 12, 15),  # the first 15th on or after the start
        D(2027, 5, 15),
    ]


def test_an_anchor_day_before_the_start_begins_next_month():
    assert Cadence(RecurringFrequency.MONTHLY, 1, 1, D(2026, 11, 21)).period(0) == D(2026, 12, 1)


# The job, across DST, month ends and time zones --------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "start", "change"),
    [
        ("America/New_York", D(2026, 3, 2), "spring forward Mar 8"),
        ("America/New_York", D(2026, 10, 26), "fall back Nov 1"),
        ("Europe/Berlin", D(2026, 3, 23), "spring forward Mar 29"),
        ("Europe/Berlin", D(2026, 10, 19), "fall back Oct 25"),
    ],
)
def test_weekly_invoices_are_issued_at_local_midnight_on_both_sides_of_a_dst_change(zone, start, change):
    partner = PartnerFactory(timezone=zone)
    with at(local(zone, start.year, start.month, start.day - 1, 12)):
        schedule = make_schedule(partner, start_date=start, frequency=RecurringFrequency.WEEKLY)

    seen = run_hourly(local(zone, start.year, start.month, start.day - 1, 12).astimezone(UTC), 24 * 16)

    invoices = issued(schedule)
    expected = [start + datetime.timedelta(weeks=n) for n in range(3)]
    assert [invoice.issue_date for invoice in invoices] == expected, change
    for invoice, day in zip(invoices, expected, strict=True):
        midnight = datetime.datetime.combine(day, datetime.time(0), tzinfo=zoneinfo.ZoneInfo(zone))
        assert seen[invoice.pk] == midnight.astimezone(UTC), f"{change}: {day} issued at {seen[invoice.pk]}"
    assert [outcome for _, outcome in runs(schedule)] == ["issued"] * 3


def test_monthly_on_the_31st_through_february_in_a_common_and_a_leap_year():
    partner = PartnerFactory(timezone="America/New_York")
    with at(datetime.datetime(2027, 1, 20, 12, tzinfo=UTC)):
        schedule = make_schedule(partner, start_date=D(2027, 1, 31))
    for day in range(433):  # every day at 06:00 UTC (01:00 or 02:00 in New York) to Apr 6, 2028
        with at(datetime.datetime(2027, 1, 30, 6, tzinfo=UTC) + datetime.timedelta(days=day)):
            recurring_issue_due()
    issue_dates = [invoice.issue_date for invoice in issued(schedule)]
    assert issue_dates[:4] == [D(2027, 1, 31), D(2027, 2, 28), D(2027, 3, 31), D(2027, 4, 30)]
    assert issue_dates[-3:] == [D(2028, 1, 31), D(2028, 2, 29), D(2028, 3, 31)]
    assert len(issue_dates) == len(set(issue_dates)) == 15  # Jan 2027 to Mar 2028, once each


def test_auckland_and_los_angeles_on_the_same_utc_instant():
    auckland = PartnerFactory(timezone="Pacific/Auckland", default_currency="NZD")
    los_angeles = PartnerFactory(timezone="America/Los_Angeles")
    with at(datetime.datetime(2026, 11, 20, 0, tzinfo=UTC)):
        in_auckland = make_schedule(auckland, start_date=D(2026, 12, 1))
        in_los_angeles = make_schedule(los_angeles, start_date=D(2026, 12, 1))

    # 11:00 UTC on Nov 30: midnight on Dec 1 in Auckland (NZDT, +13), 03:00 on Nov 30 in Los Angeles.
    with at(datetime.datetime(2026, 11, 30, 10, 59, tzinfo=UTC)):
        assert recurring_issue_due()["issued"] == 0
    with at(datetime.datetime(2026, 11, 30, 11, 0, tzinfo=UTC)):
        assert recurring_issue_due()["issued"] == 1
    assert [invoice.issue_date for invoice in issued(in_auckland)] == [D(2026, 12, 1)]
    assert issued(in_los_angeles) == []

    # Midnight in Los Angeles (PST, -8) is 08:00 UTC on Dec 1.
    with at(datetime.datetime(2026, 12, 1, 7, 59, tzinfo=UTC)):
        assert recurring_issue_due()["issued"] == 0
    with at(datetime.datetime(2026, 12, 1, 8, 0, tzinfo=UTC)):
        assert recurring_issue_due()["issued"] == 1
    assert [invoice.issue_date for invoice in issued(in_los_angeles)] == [D(2026, 12, 1)]
    assert [invoice.due_date for invoice in issued(in_auckland)] == [D(2026, 12, 31)]
    assert len(issued(in_auckland)) == 1


def test_a_ten_day_outage_catches_up_every_missed_period_once_and_skips_what_is_too_old():
    catching_up = PartnerFactory(timezone="America/New_York")
    strict = PartnerFactory(timezone="America/New_York", recurring_catch_up_days=5)
    with at(datetime.datetime(2026, 11, 1, 15, tzinfo=UTC)):
        weekly = make_schedule(catching_up, start_date=D(2026, 11, 2), frequency=RecurringFrequency.WEEKLY)
        monthly = make_schedule(catching_up, start_date=D(2026, 11, 5))
        strict_weekly = make_schedule(strict, start_date=D(2026, 11, 2), frequency=RecurringFrequency.WEEKLY)
        strict_monthly = make_schedule(strict, start_date=D(2026, 11, 5))
    with at(datetime.datetime(2026, 11, 2, 15, tzinfo=UTC)):
        assert recurring_issue_due()["issued"] == 2  # both weekly schedules, Nov 2

    # Down from Nov 2 to Nov 12: Nov 5 (monthly) and Nov 9 (weekly) were never run.
    with at(datetime.datetime(2026, 11, 12, 15, tzinfo=UTC)):
        outcomes = recurring_issue_due()
        assert recurring_issue_due() == {}  # a second run finds nothing left to do
    assert outcomes == {"issued": 3, "skipped": 1}

    assert runs(weekly) == [(D(2026, 11, 2), "issued"), (D(2026, 11, 9), "issued")]
    assert runs(monthly) == [(D(2026, 11, 5), "issued")]
    assert runs(strict_weekly) == [(D(2026, 11, 2), "issued"), (D(2026, 11, 9), "issued")]
    assert runs(strict_monthly) == [(D(2026, 11, 5), "skipped")]  # 7 days late, the window is 5
    late = issued(monthly)[0]
    assert (late.issue_date, late.due_date) == (D(2026, 11, 12), D(2026, 12, 5))  # due from its period
    with scopes_disabled():
        message = late.events.get(kind=EventKind.RECURRING).message
    assert "period of Nov 5, 2026, issued Nov 12 after invoicing was down" in message
    assert refreshed(weekly).next_period_date == D(2026, 11, 16)
    assert refreshed(strict_monthly).next_period_date == D(2026, 12, 5)


# Exactly once, even when something goes wrong ---------------------------------------------------


def test_the_database_refuses_a_second_run_for_the_same_period():
    partner = PartnerFactory(timezone="UTC")
    with at(datetime.datetime(2026, 12, 1, 0, 30, tzinfo=UTC)):
        schedule = make_schedule(partner, start_date=D(2026, 12, 1))
        recurring_issue_due()
        # Something sets the schedule back to the period it already issued (a bad restore, a bug).
        with scopes_disabled():
            RecurringSchedule.objects.filter(pk=schedule.pk).update(
                next_index=0, next_period_date=D(2026, 12, 1)
            )
        assert recurring_issue_due() == {"failed": 1}
        with scopes_disabled(), pytest.raises(IntegrityError), transaction.atomic():
            RecurringRun.objects.create(
                partner=partner, schedule=schedule, period_date=D(2026, 12, 1), outcome="skipped"
            )
    assert len(issued(schedule)) == 1
    with scopes_disabled():
        assert Invoice.objects.count() == 1  # the refused attempt's invoice rolled back with it
        assert Invoice.objects.get().number == "INV-0001"


def test_a_crash_while_issuing_leaves_neither_an_invoice_nor_a_run_and_the_next_run_issues_it(monkeypatch):
    partner = PartnerFactory(timezone="UTC")
    with at(datetime.datetime(2026, 12, 1, 0, 30, tzinfo=UTC)):
        schedule = make_schedule(partner, start_date=D(2026, 12, 1))

        def crash(*args, **kwargs):
            raise RuntimeError("worker died")

        with monkeypatch.context() as patch:
            patch.setattr(jobs.RecurringRun.objects, "create", crash)
            assert recurring_issue_due() == {"failed": 1}
        with scopes_disabled():
            assert Invoice.objects.count() == 0
        assert runs(schedule) == []
        assert refreshed(schedule).next_period_date == D(2026, 12, 1)

        assert recurring_issue_due() == {"issued": 1}
    (invoice,) = issued(schedule)
    assert invoice.number == "INV-0001"  # the crashed attempt took no number


def test_an_archived_customer_pauses_the_schedule_and_tells_the_partner():
    partner = PartnerFactory(timezone="UTC")
    customer = customer_for(partner)
    with at(datetime.datetime(2026, 11, 20, tzinfo=UTC)):
        schedule = make_schedule(partner, customer=customer, start_date=D(2026, 12, 1))
    with scopes_disabled():
        Customer.objects.filter(pk=customer.pk).update(
            archived_at=datetime.datetime(2026, 11, 25, tzinfo=UTC)
        )
    with at(datetime.datetime(2026, 12, 1, 1, tzinfo=UTC)):
        assert recurring_issue_due() == {"paused": 1}
        assert recurring_issue_due() == {}
    schedule = refreshed(schedule)
    assert schedule.status == RecurringStatus.PAUSED
    assert "The invoice for Dec 1, 2026 was not issued" in schedule.problem
    assert "archived" in schedule.problem
    assert runs(schedule) == []


# Ends, pause and resume, edits ---------------------------------------------------------------------


def test_after_three_invoices_the_schedule_is_completed():
    partner = PartnerFactory(timezone="UTC")
    with at(datetime.datetime(2026, 11, 20, tzinfo=UTC)):
        schedule = make_schedule(
            partner,
            start_date=D(2026, 12, 1),
            frequency=RecurringFrequency.WEEKLY,
            end_mode=RecurringEnd.AFTER_COUNT,
            end_count=3,
        )
        assert recurring.upcoming_dates(schedule) == [D(2026, 12, 1), D(2026, 12, 8), D(2026, 12, 15)]
    with at(datetime.datetime(2026, 12, 16, tzinfo=UTC)):
        assert recurring_issue_due() == {"issued": 3}
    schedule = refreshed(schedule)
    assert (schedule.status, schedule.next_period_date, schedule.invoices_issued) == ("completed", None, 3)
    assert recurring.upcoming_dates(schedule) == []


def test_ending_on_a_date_issues_nothing_after_it():
    partner = PartnerFactory(timezone="UTC")
    with at(datetime.datetime(2026, 11, 20, tzinfo=UTC)):
        schedule = make_schedule(
            partner, start_date=D(2026, 12, 1), end_mode=RecurringEnd.ON_DATE, end_date=D(2027, 2, 15)
        )
        assert recurring.upcoming_dates(schedule) == [D(2026, 12, 1), D(2027, 1, 1), D(2027, 2, 1)]
    for month in (12, 13, 14, 15):
        with at(datetime.datetime(2026 + month // 13, (month - 1) % 12 + 1, 1, 1, tzinfo=UTC)):
            recurring_issue_due()
    assert [invoice.issue_date for invoice in issued(schedule)] == [
        D(2026, 12, 1),
        D(2027, 1, 1),
        D(2027, 2, 1),
    ]
    assert refreshed(schedule).status == RecurringStatus.COMPLETED


def test_a_pause_skips_the_periods_it_covered_and_resuming_issues_from_today():
    partner = PartnerFactory(timezone="UTC")
    with at(datetime.datetime(2026, 11, 20, tzinfo=UTC)):
        schedule = make_schedule(partner, start_date=D(2026, 12, 1), frequency=RecurringFrequency.WEEKLY)
    with at(datetime.datetime(2026, 12, 1, 1, tzinfo=UTC)):
        recurring_issue_due()
        with scope(partner=partner):
            recurring.recurring_pause(schedule=schedule, actor=None)
    with at(datetime.datetime(2026, 12, 22, 1, tzinfo=UTC)):
        assert recurring_issue_due() == {}
        with scope(partner=partner):
            recurring.recurring_resume(schedule=schedule, actor=None)
        assert recurring_issue_due() == {"issued": 1}
    assert runs(schedule) == [
        (D(2026, 12, 1), "issued"),
        (D(2026, 12, 8), "skipped"),
        (D(2026, 12, 15), "skipped"),
        (D(2026, 12, 22), "issued"),
    ]


def test_cancelling_stops_future_invoices():
    partner = PartnerFactory(timezone="UTC")
    with at(datetime.datetime(2026, 11, 20, tzinfo=UTC)):
        schedule = make_schedule(partner, start_date=D(2026, 12, 1))
        with scope(partner=partner):
            recurring.recurring_cancel(schedule=schedule, actor=None)
    with at(datetime.datetime(2027, 1, 2, tzinfo=UTC)):
        assert recurring_issue_due() == {}
    assert refreshed(schedule).status == RecurringStatus.CANCELLED


def test_an_edit_changes_future_invoices_only_and_a_new_date_restarts_the_series():
    partner = PartnerFactory(timezone="UTC")
    with at(datetime.datetime(2026, 11, 20, tzinfo=UTC)):
        schedule = make_schedule(partner, start_date=D(2026, 12, 1), amount=10_000)
    with at(datetime.datetime(2026, 12, 1, 1, tzinfo=UTC)):
        recurring_issue_due()
    with at(datetime.datetime(2026, 12, 10, tzinfo=UTC)), scope(partner=partner):
        more_seats = [LineInput("Managed services, more seats", Decimal(2), 7_500)]
        same_timing = recurring_input(
            schedule.customer, start_date=D(2027, 1, 1), anchor_day=1, lines=more_seats
        )
        recurring.recurring_update(schedule=schedule, data=same_timing, actor=None)
        assert refreshed(schedule).next_period_date == D(2027, 1, 1)
        with pytest.raises(ValidationError, match="Choose Dec 10, 2026 or later"):
            recurring.recurring_update(
                schedule=schedule,
                data=recurring_input(schedule.customer, start_date=D(2026, 12, 5), anchor_day=5),
                actor=None,
            )
        moved = recurring_input(
            schedule.customer, start_date=D(2026, 12, 31), anchor_day=31, lines=more_seats
        )
        recurring.recurring_update(schedule=schedule, data=moved, actor=None)
        assert recurring.upcoming_dates(refreshed(schedule), 3) == [
            D(2026, 12, 31),
            D(2027, 1, 31),
            D(2027, 2, 28),
        ]
    with at(datetime.datetime(2026, 12, 31, 1, tzinfo=UTC)):
        recurring_issue_due()
    first, second = issued(schedule)
    assert (first.issue_date, first.total) == (D(2026, 12, 1), 10_000)  # issued before the edit: as it was
    assert (second.issue_date, second.total) == (D(2026, 12, 31), 15_000)


# Payment options ---------------------------------------------------------------------------------


def test_a_charge_option_without_a_saved_method_gives_an_open_invoice_under_needs_attention():
    partner = PartnerFactory(timezone="UTC")
    with at(datetime.datetime(2026, 11, 20, tzinfo=UTC)):
        schedule = make_schedule(
            partner, start_date=D(2026, 12, 1), payment_option=PaymentOption.CHARGE_ON_DUE_DATE
        )
    with at(datetime.datetime(2026, 12, 1, 1, tzinfo=UTC)):
        assert recurring_issue_due() == {"issued": 1}
    (invoice,) = issued(schedule)
    assert invoice.status == InvoiceStatus.OPEN
    assert invoice.payment_option == PaymentOption.CHARGE_ON_DUE_DATE
    assert invoice.collection_failed_at is not None
    assert invoice.next_charge_at is None
    with scope(partner=partner):
        attention = invoice_filtered(partner=partner, filters=InvoiceFilters(tab="attention"))
        assert list(attention) == [invoice]
        assert invoice.events.filter(
            kind=EventKind.COLLECTION_STOPPED, message__contains="no saved payment"
        ).exists()
    with scopes_disabled():
        run = RecurringRun.objects.get(schedule=schedule)
    assert run.outcome == RecurringOutcome.ISSUED
    assert "has no saved payment method" in run.note


def test_charge_now_charges_the_saved_card_through_the_same_collection_code(
    django_capture_on_commit_callbacks,
):
    partner = PartnerFactory(timezone="UTC")
    customer = customer_for(partner)
    card_for(customer)
    with at(datetime.datetime(2026, 11, 20, tzinfo=UTC)):
        schedule = make_schedule(
            partner, customer=customer, start_date=D(2026, 12, 1), payment_option=PaymentOption.CHARGE_NOW
        )
    with at(datetime.datetime(2026, 12, 1, 1, tzinfo=UTC)), django_capture_on_commit_callbacks(execute=True):
        assert recurring_issue_due() == {"issued": 1}
    (invoice,) = issued(schedule)
    assert (invoice.status, invoice.amount_paid) == (InvoiceStatus.PAID, 10_000)


def test_charge_on_due_date_schedules_the_charge_and_email_payment_link_charges_nothing():
    partner = PartnerFactory(timezone="America/New_York")
    customer = customer_for(partner)
    card_for(customer)
    with at(datetime.datetime(2026, 11, 20, tzinfo=UTC)):
        on_due_date = make_schedule(
            partner,
            customer=customer,
            start_date=D(2026, 12, 1),
            payment_option=PaymentOption.CHARGE_ON_DUE_DATE,
            days_until_due=14,
        )
        by_link = make_schedule(
            partner,
            customer=customer,
            start_date=D(2026, 12, 1),
            payment_option=PaymentOption.EMAIL_PAYMENT_LINK,
        )
    with at(datetime.datetime(2026, 12, 1, 12, tzinfo=UTC)):
        assert recurring_issue_due() == {"issued": 2}
    (charged_later,) = issued(on_due_date)
    assert charged_later.next_charge_at == local("America/New_York", 2026, 12, 15)
    assert charged_later.collection_failed_at is None
    (linked,) = issued(by_link)
    assert (linked.status, linked.next_charge_at, linked.collection_failed_at) == ("open", None, None)
    with scopes_disabled():
        assert not linked.events.filter(kind=EventKind.PAYMENT_ATTEMPTED).exists()


def test_charge_method_on_file_needs_a_chosen_method_when_the_customer_has_some():
    partner = PartnerFactory(timezone="UTC")
    customer = customer_for(partner)
    other = customer_for(partner)
    card = card_for(customer)
    strangers_card = card_for(other)
    with at(datetime.datetime(2026, 11, 20, tzinfo=UTC)):
        with pytest.raises(ValidationError, match="Choose which of"):
            make_schedule(
                partner,
                customer=customer,
                start_date=D(2026, 12, 1),
                payment_option=PaymentOption.CHARGE_METHOD_ON_FILE,
            )
        with pytest.raises(ValidationError, match="Choose one of the customer's saved payment methods"):
            make_schedule(
                partner,
                customer=customer,
                start_date=D(2026, 12, 1),
                payment_option=PaymentOption.CHARGE_METHOD_ON_FILE,
                payment_method=strangers_card,
            )
        schedule = make_schedule(
            partner,
            customer=customer,
            start_date=D(2026, 12, 1),
            payment_option=PaymentOption.CHARGE_METHOD_ON_FILE,
            payment_method=card,
        )
    assert schedule.payment_method == card


def test_beat_runs_the_job_every_minute(settings):
    from config.celery import app
    from invoicing.tasks import issue_recurring

    entry = settings.CELERY_BEAT_SCHEDULE["issue-recurring-invoices"]
    assert entry == {"task": "invoicing.tasks.issue_recurring", "schedule": 60.0}
    assert entry["task"] in app.tasks
    partner = PartnerFactory(timezone="UTC")
    with at(datetime.datetime(2026, 11, 20, tzinfo=UTC)):
        make_schedule(partner, start_date=D(2026, 11, 20))
        assert issue_recurring.delay().get(timeout=10) == {"issued": 1}
