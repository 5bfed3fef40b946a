"""The beat job of invoicing: issue every recurring invoice whose period has come, exactly once per
(schedule, period), in each partner's time zone. Writing schedules is invoicing.recurring.

Exactly once comes from three things together:

1. The job claims one due schedule per transaction with SELECT ... FOR UPDATE SKIP LOCKED, so any
   number of runners (two beats, a manual `issue_recurring`, a worker) share the work.
2. In that transaction it creates and finalizes the invoice through invoicing.services, exactly as
   "Create invoice" does, inserts the RecurringRun row and moves the schedule to its next period. A
   crash rolls all of it back: never a run without its invoice, nor an invoice without its run.
3. RecurringRun is UNIQUE(schedule, period_date): should anything still try a period twice, the
   database refuses and the second transaction rolls back, invoice and number included.

Charging follows after commit, through payments.services (collection_start, run by finalize).
"""

import datetime
import logging
from collections import Counter
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import DateField, DateTimeField, F, Func, Value
from django.db.models.functions import Cast
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from core.formats import format_day
from customers.models import Customer, PaymentMethod
from invoicing import signals
from invoicing.models import (
    OPTIONS_NEEDING_A_METHOD,
    EventKind,
    Invoice,
    PaymentOption,
    RecurringOutcome,
    RecurringRun,
    RecurringSchedule,
    RecurringStatus,
)
from invoicing.recurring import schedule_set_next, skipped_run
from invoicing.services import (
    InvoiceInput,
    LineInput,
    invoice_create,
    invoice_event,
    invoice_stop_collection,
)

logger = logging.getLogger(__name__)


def recurring_issue_due() -> Counter:
    """Issue every period that has come, in each partner's time zone, oldest first. Returns how many
    periods were issued, skipped (too old to catch up), paused (the invoice can't be made: the
    partner is told on the schedule) and failed (an error, logged; tried again next run).

    Safe to run any number of times at once.
    """
    outcomes: Counter = Counter()
    failed: set[int] = set()
    while True:
        claimed: list[int] = []
        try:
            outcome = _issue_next(failed, claimed)
        except Exception:
            if not claimed:
                raise
            # Rolled back, so nothing of the period was written; not tried again in this run.
            logger.exception("Recurring payment %s: the period could not be issued", claimed[0])
            failed.add(claimed[0])
            outcome = "failed"
        if outcome is None:
            return outcomes
        outcomes[outcome] += 1


@transaction.atomic
def _issue_next(failed: set[int], claimed: list[int]) -> str | None:
    """Claim one due schedule and do its next period, all in this transaction."""
    now = timezone.now()
    # No time zone is more than 14 hours ahead of UTC: a bound the recurring_due index can use.
    latest = (now + datetime.timedelta(hours=14)).date()
    with scopes_disabled():  # a beat job: every partner's due schedules
        schedule = (
            RecurringSchedule.objects.filter(status=RecurringStatus.ACTIVE, next_period_date__lte=latest)
            .alias(local_today=_local_date(now))
            .filter(next_period_date__lte=F("local_today"))
            .exclude(pk__in=failed)
            .select_related("partner", "customer")
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("next_period_date", "pk")
            .first()
        )
    if schedule is None:
        return None
    claimed.append(schedule.pk)
    with scope(partner=schedule.partner):
        return _do_period(schedule, today=now.astimezone(schedule.partner.zone).date())


def _local_date(now: datetime.datetime) -> Cast:
    """The date it is at `now` in the schedule's partner's time zone, computed by PostgreSQL."""
    local = Func(F("partner__timezone"), Value(now), function="timezone", output_field=DateTimeField())
    return Cast(local, DateField())


def _do_period(schedule: RecurringSchedule, *, today: datetime.date) -> str:
    period = schedule.next_period_date
    window = schedule.partner.recurring_catch_up_days
    if period < today - datetime.timedelta(days=window):
        note = f"Skipped: more than {window} days late when invoicing resumed (Settings → Invoicing)."
        skipped_run(schedule, note=note).save(force_insert=True)
        outcome = RecurringOutcome.SKIPPED
    else:
        try:
            with transaction.atomic():
                _issue_invoice(schedule, period=period)
        except ValidationError as error:
            # Nothing was written for the period: pause and tell the partner; resuming carries on.
            problem = f"The invoice for {format_day(period)} was not issued: {' '.join(error.messages)}"
            schedule.status, schedule.problem = RecurringStatus.PAUSED, problem[:500]
            schedule.save(update_fields=["status", "problem", "updated_at"])
            return "paused"
        outcome = RecurringOutcome.ISSUED
        schedule.invoices_issued += 1
    schedule.next_index += 1
    schedule_set_next(schedule)
    schedule.save(update_fields=["next_index", "next_period_date", "status", "invoices_issued", "updated_at"])
    return outcome


def _issue_invoice(schedule: RecurringSchedule, *, period: datetime.date) -> Invoice:
    """Create and finalize the period's invoice as "Create invoice" does, then record the run."""
    # The customer row first: finalizing ends by locking it (credit), and two runners invoicing the
    # same customer would otherwise each hold a key lock on it from their insert and deadlock.
    Customer.objects.select_for_update().filter(pk=schedule.customer_id).values_list("pk").first()
    lines = [
        LineInput(
            description=line.description,
            quantity=Decimal(line.quantity),
            unit_price=line.unit_price,
            tax_rate=Decimal(line.tax_rate),
        )
        for line in schedule.lines.all()
    ]
    data = InvoiceInput(
        customer=schedule.customer,
        # A period invoiced late (after an outage) is never due in the past. Today as finalizing will
        # see it (read now, not when the schedule was claimed, in case midnight passed meanwhile).
        due_date=max(period + datetime.timedelta(days=schedule.days_until_due), schedule.partner.today()),
        currency=schedule.currency,
        lines=lines,
        payment_option=PaymentOption(schedule.payment_option),
        payment_method=schedule.payment_method,
        memo=schedule.memo,
        footer=schedule.partner.default_footer,
    )
    invoice = invoice_create(
        partner=schedule.partner, data=data, created_by=None, finalize=True, method_required=False
    )
    issued = invoice.issue_date
    late = f", issued {format_day(issued, year=False)} after invoicing was down" if period < issued else ""
    invoice_event(
        invoice,
        EventKind.RECURRING,
        actor=None,
        message=f"Recurring payment {schedule.pk}, period of {format_day(period)}{late}",
        schedule_id=schedule.pk,
    )
    RecurringRun.objects.create(
        partner_id=schedule.partner_id,
        schedule=schedule,
        period_date=period,
        outcome=RecurringOutcome.ISSUED,
        invoice=invoice,
        note=_no_method_note(schedule, invoice),
    )
    signals.recurring_invoice_issued.send(sender=RecurringSchedule, invoice=invoice, schedule=schedule)
    return invoice


def _no_method_note(schedule: RecurringSchedule, invoice: Invoice) -> str:
    """A charge option with nothing to charge: the invoice stays open and goes to "Needs attention"
    (Charge now already put it there; Charge on due date would only find out on the due date)."""
    if invoice.payment_option not in OPTIONS_NEEDING_A_METHOD or invoice.amount_due == 0:
        return ""
    if PaymentMethod.objects.filter(customer_id=invoice.customer_id, removed_at=None).exists():
        return ""
    option = PaymentOption(invoice.payment_option).label
    note = (
        f"{schedule.customer.display_name} has no saved payment method, so {option} could not charge "
        f"{invoice.number}; it is open. Add a payment method and charge it, or send the pay link."
    )
    if invoice.collection_failed_at is None:
        invoice_stop_collection(invoice=invoice, reason=note, write_off=False)
    return note
