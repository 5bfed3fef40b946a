"""The dashboard, the reports page and the invoice CSV export for the partner with 400,000 invoices.

Reuses the invoice list's seed (1,000,000 invoices, 400,000 in one partner) and adds, once, what these
pages read: when each paid invoice was paid (spread over two years, so about 16,000 fall in the last 30
days), a payment per paid invoice, a timeline line per invoice, and stopped automatic charging on 2% of
the open ones. Then VACUUM ANALYZE, as autovacuum would after such a load, so the partial covering indexes
give index-only scans.

dashboard_p95_ms runs the whole Django stack (middleware, session, scope, template), as the invoice
list bench does. export_peak_mb is the tracemalloc peak of Python allocations while the streamed export
of all 400,000 invoices is read to the end; export_rss_growth_mb is how much the process's peak RSS grew.
"""

import resource
import time
import tracemalloc

from harness import p95_ms, ready, report, setup

setup()

from bench_invoice_list import BIG, owner_client, seed  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django_scopes import scopes_disabled  # noqa: E402

from partners.models import Partner  # noqa: E402
from payments.models import Payment  # noqa: E402


def seed_dashboard(big: Partner) -> None:
    with scopes_disabled():
        if Payment.objects.filter(partner=big).exists():
            return
    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute(
            """UPDATE invoicing_invoice SET paid_at = now() - ((id * 7919) %% 730) * interval '1 day'
               WHERE partner_id = %s AND status = 'paid'""",
            [big.pk],
        )
        cursor.execute(
            """UPDATE invoicing_invoice SET collection_failed_at = created_at + interval '40 days'
               WHERE partner_id = %s AND status = 'open' AND id %% 50 = 0""",
            [big.pk],
        )
        cursor.execute(
            """INSERT INTO payments_payment (partner_id, invoice_id, customer_id, amount, currency, method,
                   reference, received_on, gateway_charge_id, credited_amount, amount_refunded, created_at)
               SELECT partner_id, id, customer_id, total, currency, 'check', '', paid_at::date, '', 0, 0,
                   paid_at
               FROM invoicing_invoice WHERE partner_id = %s AND status = 'paid' AND total > 0""",
            [big.pk],
        )
        cursor.execute(
            """INSERT INTO invoicing_invoiceevent (partner_id, invoice_id, kind, message, actor_label, data,
                   created_at)
               SELECT partner_id, id, 'created', '', 'System', '{}', created_at
               FROM invoicing_invoice WHERE partner_id = %s""",
            [big.pk],
        )
    with connection.cursor() as cursor:  # outside a transaction, as VACUUM must be
        cursor.execute("VACUUM ANALYZE invoicing_invoice, payments_payment, invoicing_invoiceevent")
    print(f"# seeded payments, paid dates and timelines in {time.monotonic() - started:.0f} s", flush=True)


def export_run(client: Client) -> tuple[int, int]:
    """Read the whole streamed export, as a browser would: (rows, bytes)."""
    response = client.get("/reports/export/invoices.csv")
    assert response.status_code == 200 and response.streaming
    rows = size = 0
    for piece in response.streaming_content:
        rows += piece.count(b"\n")
        size += len(piece)
    response.close()
    return rows - 1, size


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def main() -> None:
    big = seed()
    seed_dashboard(big)
    client = owner_client(big)
    for url in ("/", "/reports/", "/activity/"):
        response = client.get(url)
        assert response.status_code == 200, url
    assert b"Outstanding" in client.get("/").content
    ready()

    report("dashboard_p95_ms", p95_ms(lambda: client.get("/"), runs=200), "ms")
    report("reports_p95_ms", p95_ms(lambda: client.get("/reports/"), runs=50, warmup=5), "ms")
    report("activity_p95_ms", p95_ms(lambda: client.get("/activity/"), runs=100), "ms")

    rss_before = peak_rss_mb()
    started = time.perf_counter()
    rows, size = export_run(client)
    seconds = time.perf_counter() - started
    assert rows >= BIG, rows
    report("export_rows_per_s", rows / seconds, "rows/s")
    report("export_rss_growth_mb", peak_rss_mb() - rss_before, "MB")
    tracemalloc.start()
    export_run(client)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    report("export_peak_mb", peak / 1024 / 1024, "MB")
    print(f"# exported {rows} invoices, {size / 1024 / 1024:.0f} MB of CSV, in {seconds:.1f} s", flush=True)


if __name__ == "__main__":  # bench_http imports the seed
    main()
