"""Exactly-once charging under crashes, checked against the sandbox gateway's own ledger.

Used by tests/payments/test_chaos.py and bench/bench_payments.py:

1. `seed_due_invoices` makes open invoices whose "Charge on due date" has come, for customers with a
   saved sandbox card (a few through invoice_create and finalize, the rest copies of those).
2. `run_chaos` starts separate OS processes running `manage.py charge_due` with
   CrashingSandboxGateway (tests/payments/chaos_gateway.py), which exits its process right after a
   successful charge now and then; a crashed runner is started again, as a supervisor would. Once
   the ledger has charges, it SIGKILLs some runners that are charging. When every runner has
   stopped, the janitor (`manage.py resolve_payments --stale-seconds 0`) and one more `charge_due`
   run, with the same crashing gateway, until nothing is live or due.
3. `ledger_check` compares the app's attempts and payments with the sandbox ledger.
"""

import dataclasses
import datetime
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from customers.models import Customer, PaymentMethod
from invoicing.models import Invoice, InvoiceLine, InvoiceStatus, PaymentOption
from invoicing.services import InvoiceInput, LineInput, invoice_create
from partners.models import Partner
from payments.gateways.base import CardDetails, ChargeStatus
from payments.gateways.sandbox.models import SandboxCharge, SandboxMethod
from payments.models import (
    LIVE_ATTEMPT_STATUSES,
    AttemptStatus,
    CustomerCredit,
    Payment,
    PaymentAttempt,
    Refund,
)
from payments.services import payment_method_add
from tests.payments.chaos_gateway import CRASH_EXIT_CODE

ROOT = Path(__file__).resolve().parents[2]
GATEWAY = "tests.payments.chaos_gateway.CrashingSandboxGateway"
STRIPE_GATEWAY = "tests.payments.chaos_gateway.CrashingStripeGateway"
GOOD_CARD = "4242424242424242"


def database_url(settings_dict: dict) -> str:
    """A DATABASE_URL for child processes, from a connection's settings (e.g. the test database)."""
    user = quote(settings_dict.get("USER") or "", safe="")
    password = quote(settings_dict.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else f"{user}@" if user else ""
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{credentials}{host}:{port}/{settings_dict['NAME']}"


# Seeding -----------------------------------------------------------------------------------------


@dataclasses.dataclass
class Seeded:
    partner_ids: list[int]
    invoice_ids: list[int]
    tokens: list[str]  # the gateway tokens of the saved cards: the ledger rows that are ours
    # The processor's own books for these cards: charge_id, idempotency_key, amount, status per charge.
    ledger: Callable[[], list[dict]] | None = None
    ledger_count: Callable[[], int] | None = None  # how many charges it has (cheaper, where it can be)

    def __post_init__(self):
        if self.ledger is None:
            self.ledger = self._sandbox_ledger

    def _sandbox_ledger(self) -> list[dict]:
        return list(
            SandboxCharge.objects.using("sandbox")
            .filter(token__in=self.tokens)
            .values("charge_id", "idempotency_key", "amount", "status")
        )


def _sandbox_card(customer: Customer) -> None:
    details = CardDetails(number=GOOD_CARD, exp_month=12, exp_year=2035, cvc="123", name=customer.name)
    payment_method_add(customer=customer, details=details, make_default=True)


def seed_due_invoices(
    *,
    count: int,
    partners: int = 3,
    customers_per_partner: int = 8,
    label: str = "Chaos",
    connect: Callable[[Partner], None] | None = None,
    save_card: Callable[[Customer], None] = _sandbox_card,
) -> Seeded:
    """`count` open invoices, due today with Charge on due date, their charge time passed. `connect`
    gives each partner its processor account; `save_card` saves each customer's card (the sandbox's)."""
    with scopes_disabled():
        partner_rows = [
            Partner.objects.create(
                name=f"{label} Partner {n + 1}",
                email=f"billing{n + 1}@{label.lower().replace(' ', '-')}.example",
                timezone=("America/New_York", "Europe/Berlin", "UTC", "Pacific/Auckland")[n % 4],
                default_currency="USD",
            )
            for n in range(partners)
        ]
        for partner in partner_rows if connect else ():
            with scope(partner=partner):
                connect(partner)
        customers = [
            Customer.objects.create(
                partner=partner, name=f"Customer {n + 1}", email=f"customer{n + 1}-{partner.pk}@example.com"
            )
            for partner in partner_rows
            for n in range(customers_per_partner)
        ]
    templates = [_real_due_invoice(customer, save_card) for customer in customers]
    copies = [templates[i % len(templates)] for i in range(max(0, count - len(templates)))]
    with scopes_disabled(), transaction.atomic():
        made = Invoice.objects.bulk_create(
            [_copy(template, n) for n, template in enumerate(copies)], batch_size=1000
        )
        InvoiceLine.objects.bulk_create(
            [
                InvoiceLine(
                    partner_id=invoice.partner_id,
                    invoice=invoice,
                    description="Managed services",
                    quantity=1,
                    unit_price=invoice.total,
                    amount=invoice.total,
                )
                for invoice in made
            ],
            batch_size=1000,
        )
        now = timezone.now()
        ids = [invoice.pk for invoice in templates] + [invoice.pk for invoice in made]
        # Due now: invoice_finalize scheduled the real ones for midnight today, partner's time.
        Invoice.objects.filter(pk__in=ids).update(next_charge_at=now - datetime.timedelta(seconds=1))
        tokens = list(
            PaymentMethod.objects.filter(customer__in=customers).values_list("gateway_token", flat=True)
        )
    return Seeded([p.pk for p in partner_rows], ids[:count], tokens)


def _real_due_invoice(customer: Customer, save_card) -> Invoice:
    partner = customer.partner
    with scope(partner=partner), transaction.atomic():
        save_card(customer)
        data = InvoiceInput(
            customer=customer,
            due_date=partner.today(),
            currency="USD",
            lines=[LineInput("Managed services", Decimal(1), 1_000 + customer.pk % 97 * 113, Decimal(0))],
            payment_option=PaymentOption.CHARGE_ON_DUE_DATE,
        )
        invoice = invoice_create(partner=partner, data=data, created_by=None, finalize=True)
    if invoice.status != InvoiceStatus.OPEN or invoice.next_charge_at is None:
        raise AssertionError(f"{invoice} was not scheduled for its due date")
    return invoice


def _copy(template: Invoice, n: int) -> Invoice:
    total = 500 + (n * 7919) % 250_000  # amounts differ, so a charge for the wrong invoice shows
    fields = {
        field.attname: getattr(template, field.attname)
        for field in Invoice._meta.concrete_fields
        if not field.primary_key
    }
    fields.update(
        number=f"{template.number}-{n:05d}",
        subtotal=total,
        tax_total=0,
        total=total,
        amount_due=total,
        amount_paid=0,
    )
    return Invoice(**fields)


def purge(seeded: Seeded) -> None:
    """Delete everything a seed made and everything charging it wrote, the sandbox's books too."""
    with scopes_disabled(), transaction.atomic():
        partners = {"partner_id__in": seeded.partner_ids}
        CustomerCredit.objects.filter(**partners).delete()
        Refund.objects.filter(**partners).delete()
        Payment.objects.filter(**partners).delete()
        PaymentAttempt.objects.filter(**partners).delete()
        Invoice.objects.filter(**partners).delete()
        PaymentMethod.objects.filter(**partners).delete()
        Customer.objects.filter(**partners).delete()
        Partner.objects.filter(pk__in=seeded.partner_ids).delete()
    with transaction.atomic(using="sandbox"):
        SandboxCharge.objects.using("sandbox").filter(token__in=seeded.tokens).delete()
        SandboxMethod.objects.using("sandbox").filter(token__in=seeded.tokens).delete()


# Running ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Run:
    started: int = 0  # runner processes started, restarts included
    killed: int = 0  # runners this harness SIGKILLed (exit -9)
    crashed: int = 0  # processes that exited with CRASH_EXIT_CODE right after a charge
    crashed_in_recovery: int = 0  # of those, janitor and drain processes
    recovery_rounds: int = 0
    errors: list[str] = dataclasses.field(default_factory=list)  # any other exit, with its output
    charging_seconds: float = 0.0  # from starting the runners until the last one stopped
    seconds: float = 0.0  # recovery included


class _Process:
    def __init__(self, command: str, env: dict[str, str], workdir: Path, name: str, seed: int):
        self.mark = workdir / f"{name}.charged"
        self.log = workdir / f"{name}.log"
        self.killed = False
        with self.log.open("wb") as log:
            self.popen = subprocess.Popen(
                [sys.executable, str(ROOT / "manage.py"), *command.split()],
                cwd=ROOT,
                env={**env, "CHAOS_SEED": str(seed), "CHAOS_MARK": str(self.mark)},
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def run_chaos(
    *,
    env: dict[str, str],
    seeded: Seeded,
    gateway: str = GATEWAY,
    runners: int = 8,
    kills: int = 3,
    crash_rate: float = 0.01,
    latency_ms: float = 2,
    charge_concurrency: int = 2,
    kill_after: int | None = None,
    timeout: float = 240,
) -> Run:
    """Charge the seeded invoices through crashing and killed runners, then recover. `env` must point
    child processes at the same database (DATABASE_URL, DJANGO_SETTINGS_MODULE, REDIS_URL)."""
    env = {
        **env,
        "PAYMENT_GATEWAY": gateway,
        "STRIPE_GATEWAY": STRIPE_GATEWAY,
        "SANDBOX_LATENCY_MS": str(latency_ms),
        "CHAOS_CRASH_RATE": str(crash_rate),
        # Threads overlap gateway calls as in production; two per process keep 8 runners' database
        # connections well under PostgreSQL's default limit of 100.
        "PAYMENT_CHARGE_CONCURRENCY": str(charge_concurrency),
        # Small batches spread the invoices over every runner, so each has charged (and can be
        # killed mid-run) before the few that started first have taken all the work.
        "PAYMENT_CHARGE_BATCH": "10",
        "LOG_LEVEL": "ERROR",
    }
    kill_after = kill_after if kill_after is not None else max(20, len(seeded.invoice_ids) // 20)
    run = Run()
    deadline = time.monotonic() + timeout
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="chaos-") as tmp:
        workdir = Path(tmp)
        processes: list[_Process] = []

        def spawn(command: str) -> _Process:
            run.started += 1
            process = _Process(command, env, workdir, f"p{run.started}", seed=run.started)
            processes.append(process)
            return process

        try:
            _charge_with_kills(run, spawn, seeded, runners, kills, kill_after, deadline)
            run.charging_seconds = time.monotonic() - started
            _recover(run, spawn, seeded, deadline)
        finally:
            for process in processes:
                if process.popen.poll() is None:
                    process.popen.kill()
                    process.popen.wait()
    run.seconds = time.monotonic() - started
    return run


def _finished(run: Run, process: _Process, *, recovering: bool) -> bool:
    """Account for an exited process; True when it must be started again (it crashed or was killed)."""
    code = process.popen.returncode
    if process.killed and code == -signal.SIGKILL:
        run.killed += 1
        return True  # a supervisor starts a killed runner again
    if code == CRASH_EXIT_CODE:
        run.crashed += 1
        run.crashed_in_recovery += recovering
        return True
    if code != 0:
        run.errors.append(f"exit {code}:\n{process.output()}")
    return False


def _charge_with_kills(run, spawn, seeded, runners, kills, kill_after, deadline) -> None:
    live = [spawn("charge_due") for _ in range(runners)]
    to_kill = kills
    counted_at = 0.0
    while live:
        _check_deadline(deadline, "the runners")
        for process in [p for p in live if p.popen.poll() is not None]:
            live.remove(process)
            if process.killed and process.popen.returncode != -signal.SIGKILL:
                to_kill += 1  # it exited by itself (crashed, or done) before the signal landed: kill another
            if _finished(run, process, recovering=False):
                live.append(spawn("charge_due"))  # a supervisor starts a crashed or killed runner again
        due_to_count = to_kill and time.monotonic() - counted_at > 0.25  # the ledger is not free to read
        if due_to_count and (counted_at := time.monotonic()) and _ledger_count(seeded) >= kill_after:
            for process in [p for p in live if p.mark.exists() and p.popen.poll() is None][:to_kill]:
                process.killed = True
                process.popen.send_signal(signal.SIGKILL)
                to_kill -= 1
        time.sleep(0.02)


def _recover(run, spawn, seeded, deadline) -> None:
    """Janitor, then one more due-date run, until nothing is left live or due."""
    while _outstanding(seeded):
        run.recovery_rounds += 1
        for command in ("resolve_payments --stale-seconds 0", "charge_due"):
            while True:  # a crashed janitor or runner is simply started again
                _check_deadline(deadline, command)
                process = spawn(command)
                process.popen.wait(timeout=max(1, deadline - time.monotonic()))
                if not _finished(run, process, recovering=True):
                    break
        if run.errors:
            return


def _check_deadline(deadline: float, what: str) -> None:
    if time.monotonic() > deadline:
        raise TimeoutError(f"chaos run: {what} did not finish in time")


def _ledger_count(seeded: Seeded) -> int:
    return seeded.ledger_count() if seeded.ledger_count else len(seeded.ledger())


def _outstanding(seeded: Seeded) -> int:
    with scopes_disabled():
        live = PaymentAttempt.objects.filter(
            invoice_id__in=seeded.invoice_ids, status__in=LIVE_ATTEMPT_STATUSES
        ).count()
        due = Invoice.objects.filter(
            pk__in=seeded.invoice_ids, status=InvoiceStatus.OPEN, next_charge_at__lte=timezone.now()
        ).count()
    return live + due


# Checking --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class LedgerCheck:
    ledger_charges: int  # succeeded charges in the sandbox's books
    double_charges: int  # invoices with more than one succeeded charge
    reused_keys: int  # idempotency keys with more than one charge
    missing_charges: int  # succeeded charges the app did not record (as a payment of a succeeded attempt)
    phantom_payments: int  # card payments the gateway never made (or made for another amount)
    unpaid: int  # invoices not paid in full
    unresolved_attempts: int  # attempts still pending, processing or unknown
    attempts: int
    examples: list[str]


def ledger_check(seeded: Seeded) -> LedgerCheck:
    ledger = seeded.ledger()
    succeeded = [row for row in ledger if row["status"] == ChargeStatus.SUCCEEDED]
    examples = []
    with scopes_disabled():
        attempts = {
            row["idempotency_key"]: row
            for row in PaymentAttempt.objects.filter(invoice_id__in=seeded.invoice_ids).values(
                "pk", "idempotency_key", "invoice_id", "status", "amount"
            )
        }
        payments = {
            row["gateway_charge_id"]: row
            for row in Payment.objects.filter(invoice_id__in=seeded.invoice_ids)
            .exclude(gateway_charge_id="")
            .values("gateway_charge_id", "amount", "attempt_id", "invoice_id")
        }
        payment_rows = Payment.objects.filter(invoice_id__in=seeded.invoice_ids).count()
        unpaid = (
            Invoice.objects.filter(pk__in=seeded.invoice_ids)
            .exclude(status=InvoiceStatus.PAID, amount_paid=F("total"))
            .count()
        )
        unresolved = sum(row["status"] in LIVE_ATTEMPT_STATUSES for row in attempts.values())

    per_invoice = Counter()
    missing = 0
    for row in succeeded:
        attempt = attempts.get(row["idempotency_key"])
        if attempt is None:
            missing += 1
            examples.append(f"charge {row['charge_id']} has no attempt with its key")
            continue
        per_invoice[attempt["invoice_id"]] += 1
        payment = payments.get(row["charge_id"])
        if (
            payment is None
            or attempt["status"] != AttemptStatus.SUCCEEDED
            or payment["attempt_id"] != attempt["pk"]
        ):
            missing += 1
            examples.append(f"charge {row['charge_id']} (attempt {attempt['pk']}) not recorded as paid")
    doubles = [invoice for invoice, charges in per_invoice.items() if charges > 1]
    examples += [f"invoice {invoice} charged {per_invoice[invoice]} times" for invoice in doubles[:5]]

    by_id = {row["charge_id"]: row for row in succeeded}
    phantoms = 0
    for charge_id, payment in payments.items():
        charge = by_id.get(charge_id)
        if charge is None or charge["amount"] != payment["amount"]:
            phantoms += 1
            examples.append(f"payment for {charge_id} has no matching succeeded charge")
    # Payments without a charge id at all were not made by the gateway either: there must be none.
    phantoms += payment_rows - len(payments)
    reused = sum(1 for n in Counter(row["idempotency_key"] for row in ledger).values() if n > 1)
    return LedgerCheck(
        ledger_charges=len(succeeded),
        double_charges=len(doubles),
        reused_keys=reused,
        missing_charges=missing,
        phantom_payments=phantoms,
        unpaid=unpaid,
        unresolved_attempts=unresolved,
        attempts=len(attempts),
        examples=examples[:10],
    )


def child_env(settings_dict: dict, *, settings_module: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url(settings_dict),
        "DJANGO_SETTINGS_MODULE": settings_module,
    }
