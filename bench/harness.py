"""Shared pieces for benchmarks: Django set-up, timing, and the `BENCH <name> <value> <unit>` lines."""

import os
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import django


def setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    django.setup()


def ready() -> None:
    """Call once the benchmark has imported and warmed what it measures, as the WSGI module does."""
    from config.gc import freeze_startup_objects

    freeze_startup_objects()


def report(name: str, value: float, unit: str) -> None:
    print(
        f"BENCH {name} {value:.2f} {unit}" if isinstance(value, float) else f"BENCH {name} {value} {unit}",
        flush=True,
    )


def timings_ms(function: Callable[[], object], *, runs: int = 200, warmup: int = 20) -> list[float]:
    for _ in range(warmup):
        function()
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def steady_work() -> int:
    """A fixed piece of pure Python (about 5 ms here): timed beside a benchmark, it shows how steady the
    machine was, since its own time never changes."""
    table = {}
    for number in range(40_000):
        table[number % 1_000] = table.get(number % 1_000, 0) + number * number
    return sum(table.values())


def steadiness(timings: list[float]) -> float:
    """p95 / median of `steady_work`'s timings: 1.0 on a steady machine."""
    return p95(timings) / statistics.median(timings)


def p95(timings: list[float]) -> float:
    return statistics.quantiles(timings, n=20)[18]


def p95_ms(function: Callable[[], object], *, runs: int = 200, warmup: int = 20) -> float:
    return p95(timings_ms(function, runs=runs, warmup=warmup))


def paired_timings_ms(
    first: Callable[[], object], second: Callable[[], object], *, runs: int = 200, warmup: int = 20
) -> tuple[list[float], list[float]]:
    """Timings of two functions run in alternation.

    This kind of shared machine runs up to twice as fast one minute as the next; two sets of timings
    taken one after the other compared those minutes as much as the code. Alternating gives both the
    same ones.
    """
    for _ in range(warmup):
        first()
        second()
    timings: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        for function, into in ((first, timings[0]), (second, timings[1])):
            start = time.perf_counter()
            function()
            into.append((time.perf_counter() - start) * 1000)
    return timings


def paired_p95_ms(
    first: Callable[[], object], second: Callable[[], object], *, runs: int = 200, warmup: int = 20
) -> tuple[float, float]:
    """p95s of two functions timed in alternation, for a ratio of the two."""
    first_timings, second_timings = paired_timings_ms(first, second, runs=runs, warmup=warmup)
    return p95(first_timings), p95(second_timings)


def customer_with_card(partner, *, email: str, name: str):
    """The partner's customer `email` with a saved default card, as most pay links see; made on the first
    run and reused (call it in the partner's scope)."""
    from customers.models import Customer
    from payments.gateways.base import CardDetails
    from payments.models import PaymentMethod
    from payments.services import payment_method_add

    customer, _ = Customer.objects.get_or_create(partner=partner, email=email, defaults={"name": name})
    if not PaymentMethod.objects.filter(customer=customer, removed_at=None).exists():
        card = CardDetails(number="4242424242424242", exp_month=12, exp_year=2040, cvc="123", name="Bench")
        payment_method_add(customer=customer, details=card, make_default=True)
    return customer


def five_line_invoice(customer):
    """The customer's open five-line invoice, made on the first run and reused (call it in the partner's
    scope): what the PDF, pay page and HTTP benchmarks draw."""
    import datetime
    from decimal import Decimal

    from invoicing.models import Invoice, InvoiceStatus
    from invoicing.services import InvoiceInput, LineInput, invoice_create

    partner = customer.partner
    invoice = Invoice.objects.filter(partner=partner, customer=customer, status=InvoiceStatus.OPEN).first()
    if invoice is None:
        lines = [
            LineInput(f"Managed service {n}", Decimal(n), 12_500 + n, Decimal("8.25")) for n in range(1, 6)
        ]
        data = InvoiceInput(
            customer=customer,
            due_date=partner.today() + datetime.timedelta(days=30),
            currency="USD",
            lines=lines,
            memo="Thank you for your business.",
        )
        invoice = invoice_create(partner=partner, data=data, created_by=None, finalize=True)
    return invoice


TARGET_ROW = re.compile(
    r"^\|\s*`(?P<name>[a-z0-9_]+)`\s*\|\s*(?P<sign>[≥≤=])\s*(?P<value>[0-9][0-9,]*(\.[0-9]+)?)"
)
COMPARE = {"≥": float.__ge__, "≤": float.__le__, "=": float.__eq__}


def targets() -> dict[str, tuple[str, float]]:
    """The targets table of bench/README.md, the one place targets are written: {figure: (sign, value)}."""
    rows = (
        TARGET_ROW.match(line) for line in (Path(__file__).with_name("README.md")).read_text().splitlines()
    )
    return {row["name"]: (row["sign"], float(row["value"].replace(",", ""))) for row in rows if row}


def target_verdicts(figures: dict[str, float]) -> list[str]:
    """`PASS`/`FAIL` with the target, for each of these figures that has one."""
    lines = []
    for name, (sign, goal) in targets().items():
        if name in figures:
            verdict = "PASS" if COMPARE[sign](float(figures[name]), goal) else "FAIL"
            value = f"{figures[name]:.2f}" if isinstance(figures[name], float) else figures[name]
            lines.append(f"{verdict} {name} {value} (target {sign} {goal:g})")
    return lines
