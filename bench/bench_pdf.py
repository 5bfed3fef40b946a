"""A first render of a one-page, five-line invoice PDF: what a worker does when an invoice is issued or
gets a new version (target: p95 <= 100 ms). Each timed render draws the invoice from scratch, through
WeasyPrint's public API only; what a process keeps between renders is its parsed stylesheet, its font
configuration and the partner's scaled logo, as a worker does."""

import platform
import statistics
import sys
import time

from harness import (
    five_line_invoice,
    p95,
    paired_timings_ms,
    ready,
    report,
    setup,
    steadiness,
    steady_work,
    target_verdicts,
)

setup()

from django_scopes import scope  # noqa: E402

from customers.models import Customer  # noqa: E402
from invoicing.models import Invoice  # noqa: E402
from invoicing.pdf import invoice_pdf_render  # noqa: E402
from partners.models import Partner  # noqa: E402


def bench_invoice() -> Invoice:
    """The same partner, customer and invoice on every run, created on the first."""
    partner, _ = Partner.objects.get_or_create(name="Bench PDF Partner")
    with scope(partner=partner):
        customer, _ = Customer.objects.get_or_create(
            partner=partner, email="bench-pdf@example.com", defaults={"name": "Bench PDF Customer"}
        )
        invoice = five_line_invoice(customer)
        return Invoice.objects.select_related("partner", "customer").get(pk=invoice.pk)


UNSTEADY = 1.5  # steadiness above this: other processes took the cores often enough to move the p95

invoice = bench_invoice()
start = time.perf_counter()
assert invoice_pdf_render(invoice=invoice).startswith(b"%PDF")
# One sample, for scale: a process's first render also parses the stylesheet and loads the fonts.
report("invoice_pdf_render_cold_ms", (time.perf_counter() - start) * 1000, "ms")
ready()
# 200 renders (about 15 s): with 50, the p95 was the third-slowest render, so one noisy second decided it.
# After each, the same fixed piece of plain Python, timed too: how steady the machine was meanwhile.
cpu_ms: list[float] = []


def render() -> None:
    start = time.process_time()
    invoice_pdf_render(invoice=invoice)
    cpu_ms.append((time.process_time() - start) * 1000)


timings, control = paired_timings_ms(render, steady_work, warmup=10)
wall_p95 = p95(timings)
report("invoice_pdf_render_p95_ms", wall_p95, "ms")
# The same renders in this process's CPU time: what other processes on a shared machine add to the wall
# clock (waiting for a core) is left out, so this moves less from one minute to the next.
report("invoice_pdf_render_cpu_p95_ms", p95(cpu_ms[-len(timings) :]), "ms")
# The median moves far less with this machine's speed from one minute to the next: the code's trend.
report("invoice_pdf_render_p50_ms", statistics.median(timings), "ms")
# p95 / median of the plain Python: 1.0 on a steady machine.
unsteady = steadiness(control)
report("invoice_pdf_machine_steadiness", unsteady, "ratio")
for line in target_verdicts({"invoice_pdf_render_p95_ms": wall_p95}):
    print(f"# {line}", flush=True)
if unsteady > UNSTEADY:
    print(
        f"# The machine was unsteady (plain Python's p95 was {unsteady:.1f}x its median): the wall-clock p95"
        " counts time spent waiting for a core; invoice_pdf_render_cpu_p95_ms, this process's CPU time,"
        " leaves that out.",
        flush=True,
    )
# Nearly all of a render is WeasyPrint's Python: the interpreter's build moves the figures by about a fifth,
# so say which one drew them.
print(f"# rendered by Python {platform.python_version()}, {sys._base_executable}", flush=True)
