"""Exactly one invoice per period with the job running in 3 OS processes at once (`manage.py
issue_recurring`, as two beats and an operator would), over schedules that each have several missed
periods to catch up, in two time zones, several schedules per customer."""

import datetime
import re
import subprocess
import sys
from collections import Counter

import pytest
import time_machine
from django.db import connection
from django.utils import timezone
from django_scopes import scopes_disabled

from invoicing.models import Invoice, RecurringRun, RecurringSchedule
from tests.factories import PartnerFactory
from tests.factories.invoicing import customer_for
from tests.factories.recurring import make_schedule
from tests.payments.chaos import ROOT, child_env

PROCESSES = 3
SCHEDULES_PER_PARTNER = 20
CUSTOMERS_PER_PARTNER = 4
WEEKS_BEHIND = 3  # each schedule has this many + 1 periods due: a catch-up after an outage


def seed() -> int:
    """Weekly schedules that started WEEKS_BEHIND weeks ago; returns how many periods are due now."""
    due = 0
    with time_machine.travel(timezone.now() - datetime.timedelta(weeks=WEEKS_BEHIND), tick=False):
        for zone in ("America/New_York", "Pacific/Auckland"):
            partner = PartnerFactory(timezone=zone)
            customers = [customer_for(partner) for _ in range(CUSTOMERS_PER_PARTNER)]
            for index in range(SCHEDULES_PER_PARTNER):
                make_schedule(
                    partner,
                    customer=customers[index % CUSTOMERS_PER_PARTNER],
                    start_date=partner.today(),
                    frequency="weekly",
                )
                due += WEEKS_BEHIND + 1
    return due


@pytest.mark.django_db(transaction=True, databases=["default", "sandbox"])
def test_three_processes_issue_exactly_one_invoice_per_period():
    due = seed()
    env = child_env(connection.settings_dict, settings_module="tests.child_settings")
    runners = [
        subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "issue_recurring"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    outputs = [runner.communicate(timeout=240)[0] for runner in runners]

    assert [runner.returncode for runner in runners] == [0] * PROCESSES, outputs
    issued_by = []
    for output in outputs:
        match = re.search(r"(\d+) issued, (\d+) skipped, (\d+) paused, (\d+) failed", output)
        assert match, output
        assert match.groups()[1:] == ("0", "0", "0"), output
        issued_by.append(int(match.group(1)))
    print(f"issued per process: {issued_by}")
    assert sum(issued_by) == due
    # The runners really overlapped (otherwise this would prove nothing about concurrency).
    assert sum(1 for count in issued_by if count) >= 2, issued_by

    with scopes_disabled():
        periods = Counter(RecurringRun.objects.values_list("schedule_id", "period_date"))
        assert len(periods) == due
        assert set(periods.values()) == {1}
        assert Invoice.objects.count() == due
        assert RecurringRun.objects.filter(invoice__isnull=False).count() == due
        for partner_id in set(RecurringSchedule.objects.values_list("partner_id", flat=True)):
            numbers = sorted(Invoice.objects.filter(partner_id=partner_id).values_list("number", flat=True))
            count = SCHEDULES_PER_PARTNER * (WEEKS_BEHIND + 1)
            assert numbers == [f"INV-{n:04d}" for n in range(1, count + 1)]  # gap-free, none twice
        for schedule in RecurringSchedule.objects.select_related("partner"):
            assert schedule.invoices_issued == WEEKS_BEHIND + 1
            assert schedule.next_period_date == schedule.start_date + datetime.timedelta(
                weeks=WEEKS_BEHIND + 1
            )
