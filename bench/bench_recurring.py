"""Recurring invoices issued per second by the beat job: `recurring_issued_per_s` over 1,000 schedules
due today in one partner, in this process; `recurring_issued_per_s_3_processes` over 1,000 schedules in
10 partners by 3 `manage.py issue_recurring` processes at once (as overlapping beats would; one
partner's invoices queue on its gap-free number counter, so parallelism is across partners), process
start-up included. `recurring_duplicate_invoices` must be 0. The partners it seeds are deleted after."""

from harness import ready, report, setup

setup()

import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from decimal import Decimal  # noqa: E402
from pathlib import Path  # noqa: E402

from django.db import transaction  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.urls import reverse  # noqa: E402
from django_scopes import scope, scopes_disabled  # noqa: E402

from customers.models import Customer  # noqa: E402
from invoicing.jobs import recurring_issue_due  # noqa: E402
from invoicing.models import Invoice, RecurringRun, RecurringSchedule  # noqa: E402
from invoicing.recurring import RecurringInput, recurring_create  # noqa: E402
from invoicing.services import LineInput  # noqa: E402
from partners.models import Partner  # noqa: E402
from payments.models import CustomerCredit  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SCHEDULES = 1_000
CUSTOMERS = 50


def seed(label: str, schedules: int) -> Partner:
    partner = Partner.objects.create(name=f"Bench recurring {label}", timezone="America/New_York")
    with scope(partner=partner):
        customers = Customer.objects.bulk_create(
            Customer(partner=partner, name=f"Customer {n}", email=f"bench-recurring-{label}-{n}@example.com")
            for n in range(CUSTOMERS)
        )
        for n in range(schedules):
            data = RecurringInput(
                customer=customers[n % CUSTOMERS],
                currency="USD",
                lines=[LineInput("Managed services", Decimal(1), 10_000 + n)],
                frequency="monthly",
                start_date=partner.today(),
            )
            recurring_create(partner=partner, data=data, created_by=None)
    return partner


def duplicates(partners: list[Partner]) -> int:
    """Periods with more than one run, and invoices beyond one per schedule."""
    with scopes_disabled():
        runs = RecurringRun.objects.filter(partner__in=partners).values("schedule_id", "period_date")
        twice = runs.annotate(n=Count("id")).filter(n__gt=1).count()
        invoices = Invoice.objects.filter(partner__in=partners).count()
    return twice + max(0, invoices - SCHEDULES * 2)


def purge(partners: list[Partner]) -> None:
    with scopes_disabled(), transaction.atomic():
        mine = {"partner__in": partners}
        RecurringRun.objects.filter(**mine).delete()
        RecurringSchedule.objects.filter(**mine).delete()
        CustomerCredit.objects.filter(**mine).delete()
        Invoice.objects.filter(**mine).delete()
        Customer.objects.filter(**mine).delete()
        Partner.objects.filter(pk__in=[partner.pk for partner in partners]).delete()


def run_processes(count: int) -> None:
    runners = [
        subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "issue_recurring"],
            cwd=ROOT,
            env=os.environ.copy(),
            stdout=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]
    for runner in runners:
        runner.wait()


reverse("recurring_list")  # the URLconf, imported once per process (pay links reverse a URL)
ready()
seeded: list[Partner] = []
try:
    seeded.append(seed("one", SCHEDULES))
    start = time.perf_counter()
    outcomes = recurring_issue_due()
    report("recurring_issued_per_s", outcomes["issued"] / (time.perf_counter() - start), "invoices/s")
    spread = [seed(f"three-{n}", SCHEDULES // 10) for n in range(10)]
    seeded += spread
    start = time.perf_counter()
    run_processes(3)
    elapsed = time.perf_counter() - start
    with scopes_disabled():
        issued = Invoice.objects.filter(partner__in=spread).count()
    report("recurring_issued_per_s_3_processes", issued / elapsed, "invoices/s")
    report("recurring_duplicate_invoices", duplicates(seeded), "invoices")
finally:
    purge(seeded)
