"""Charging due invoices the way production does, and the exactly-once chaos run.

- charge_due_per_s: a real Celery worker (prefork, 2 processes, as `make run` starts it) executes
  payments.tasks.charge_due_invoices, sent a few times as beat would; each worker process claims
  batches concurrently. Timed from sending the tasks until every seeded invoice is paid. Sandbox
  latency 0 ms, so this measures the app and PostgreSQL.
- charge_due_per_s_200ms: the same with 200 ms per gateway call (threads overlap the calls).
- chaos_*: tests/payments/chaos.py at full size: 2,000 invoices, 8 runner processes, 3 SIGKILLed,
  1% of charges followed by a crash; then the janitor. Double and missing charges must be 0.

Each part seeds its own partners (named "Bench Payments …") and deletes them and the sandbox rows it
made afterwards, so other benchmarks sharing the database are not touched. The worker listens on a
queue of its own for the same reason.
"""

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from harness import ready, report, setup

setup()

from django.db import connection  # noqa: E402
from django_scopes import scopes_disabled  # noqa: E402

from config.celery import app  # noqa: E402
from invoicing.models import Invoice, InvoiceStatus  # noqa: E402
from tests.payments.chaos import (  # noqa: E402
    child_env,
    ledger_check,
    purge,
    run_chaos,
    seed_due_invoices,
)

ROOT = Path(__file__).resolve().parents[1]
CELERY = str(Path(sys.executable).with_name("celery"))


class Worker:
    """`celery -A config worker --pool prefork --concurrency 2` on a queue of its own."""

    def __init__(self, *, latency_ms: int, concurrency: int = 2):
        tag = uuid.uuid4().hex[:8]
        self.queue = f"bench-payments-{tag}"
        self.name = f"bench-payments-{tag}@localhost"
        env = {**child_env(connection.settings_dict, settings_module="config.settings.base")}
        env["SANDBOX_LATENCY_MS"] = str(latency_ms)
        command = [CELERY, "-A", "config", "worker", "--pool", "prefork", "--concurrency", str(concurrency)]
        command += [
            "-Q",
            self.queue,
            "-n",
            self.name,
            "-l",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
        ]
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop) the banner and any errors
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT
        )
        self._wait_ready()

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-4000:]

    def _wait_ready(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the Celery worker exited ({self.process.returncode}):\n{self.output()}")
            if app.control.ping(destination=[self.name], timeout=0.5):
                return
        raise RuntimeError("the Celery worker did not answer a ping in time")

    def charge_due(self, times: int) -> None:
        for _ in range(times):
            app.send_task("payments.tasks.charge_due_invoices", queue=self.queue, ignore_result=True)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)  # warm shutdown: running tasks finish
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def unpaid(seeded) -> int:
    with scopes_disabled():  # by partner: cheap to ask every 50 ms, unlike 5,000 ids
        return (
            Invoice.objects.filter(partner_id__in=seeded.partner_ids)
            .exclude(status=InvoiceStatus.PAID)
            .count()
        )


def charged_per_second(*, invoices: int, latency_ms: int, timeout: float = 300) -> float:
    seeded = seed_due_invoices(count=invoices, label=f"Bench Payments {uuid.uuid4().hex[:6]}")
    worker = None
    try:
        worker = Worker(latency_ms=latency_ms)
        started = time.monotonic()
        worker.charge_due(times=4)  # beat ticking while the first runs: both processes claim batches
        while (left := unpaid(seeded)) and time.monotonic() - started < timeout:
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        if left:
            raise RuntimeError(
                f"{left} of {invoices} invoices still unpaid after {timeout:.0f} s:\n{worker.output()}"
            )
        check = ledger_check(seeded)
        if check.double_charges or check.missing_charges or check.ledger_charges != invoices:
            raise RuntimeError(f"the ledger does not match: {check}")
        return invoices / elapsed
    finally:
        if worker:
            worker.stop()
        purge(seeded)


def chaos() -> None:
    seeded = seed_due_invoices(count=2_000, label=f"Bench Payments chaos {uuid.uuid4().hex[:6]}")
    try:
        env = child_env(connection.settings_dict, settings_module="config.settings.base")
        run = run_chaos(env=env, seeded=seeded, runners=8, kills=3, crash_rate=0.01, latency_ms=2)
        if run.errors:
            raise RuntimeError("\n\n".join(run.errors))
        check = ledger_check(seeded)
        print(
            f"# chaos: {run.started} processes, {run.killed} SIGKILLed, {run.crashed} crashed after a "
            f"charge ({run.crashed_in_recovery} while recovering), {run.seconds:.1f} s; "
            f"{check.ledger_charges} charges in the ledger, {check.unpaid} unpaid, "
            f"{check.unresolved_attempts} unresolved",
            flush=True,
        )
        report("chaos_double_charges", check.double_charges, "invoices")
        report("chaos_missing_charges", check.missing_charges, "charges")
        report("chaos_phantom_payments", check.phantom_payments, "payments")
    finally:
        purge(seeded)


def main() -> None:
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    ready()
    report("charge_due_per_s", charged_per_second(invoices=5_000, latency_ms=0), "invoices/s")
    report("charge_due_per_s_200ms", charged_per_second(invoices=500, latency_ms=200), "invoices/s")
    chaos()


main()
