"""The pages people open, as production serves them: requests per second and p99 latency over HTTP.

gunicorn runs exactly as the Dockerfile's CMD says (its workers, timeouts and max-requests, access log
included), bound to 127.0.0.1 on a free port, DEBUG off. wrk (Debian's package) keeps 8 connections
busy on one page at a time, against the 400,000-invoice partner of bench_invoice_list (seeded by it and
bench_dashboard on the first run). Signed-in pages send the cookies a browser would hold after signing
in as that partner's owner.

For each page: `http_<page>_rps`, `http_<page>_p99_ms`, and `http_<page>_vs_healthz`, its throughput
over /healthz's. /healthz is measured right before and right after each page and the page is compared
with the mean of those two, so a machine that speeds up or slows down from one minute to the next moves
both sides of the ratio alike. Any response that is not 2xx, and any socket error, is counted in
`http_errors` and makes this exit non-zero. Targets live in bench/README.md; a summary compares them.

`http_<page>_app_cpu_ms` and `http_<page>_db_cpu_ms` are the CPU a request cost gunicorn and its
PostgreSQL backends over the same run (from /proc; the second only when PostgreSQL runs on this
machine). Unlike throughput, they hardly depend on what else the machine is doing.
"""

import contextlib
import dataclasses
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from harness import customer_with_card, five_line_invoice, report, setup, target_verdicts

setup()

from bench_dashboard import seed_dashboard  # noqa: E402
from bench_invoice_list import BIG, owner_client, seed  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.urls import Resolver404, resolve  # noqa: E402
from django_scopes import scope  # noqa: E402

from api.models import ApiKeyScope  # noqa: E402
from api.services import api_key_create  # noqa: E402
from invoicing.models import Invoice, NumberKind  # noqa: E402
from invoicing.numbering import number_peek, number_set_next  # noqa: E402
from partners.models import Partner  # noqa: E402
from payments.portal.selectors import pay_link_resolve  # noqa: E402
from payments.portal.services import pay_link_reissue  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
WRK_SCRIPT = Path(__file__).with_name("wrk_report.lua")
CONNECTIONS = 8
WRK_THREADS = 2
PAGE_SECONDS = 10
HEALTHZ_SECONDS = 5
WARMUP_SECONDS = 2  # per page, not counted: every worker has loaded its templates and code


@dataclass(frozen=True)
class Page:
    name: str  # the figures are http_<name>_rps, _p99_ms and _vs_healthz
    path: str
    expect: bytes  # found in the body of a right answer (checked once, before the load)
    headers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Run:
    requests: int
    seconds: float
    p99_ms: float
    errors: dict[str, int]
    app_cpu_ms: float = 0.0  # a request's CPU in gunicorn (master and workers)
    db_cpu_ms: float | None = None  # and in its PostgreSQL backends, when they run on this machine

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


@dataclass(frozen=True)
class Server:
    port: int
    pid: int  # gunicorn's master
    log: str  # its access and error log
    command: list[str]
    worker_start_cpu: float = 0.0  # CPU seconds a worker takes to start (import the app), measured once


HEALTHZ = Page("healthz", "/healthz", b'"status": "ok"')


def pages(invoice: Invoice, pay_path: str, cookie: str, api_key: str) -> list[Page]:
    """Every page measured, in order. A new page (the API's, say) is one more line here."""
    signed_in = (f"Cookie: {cookie}",)
    search = urlencode({"q": "Customer 1234"})
    return [
        Page("dashboard", "/", b"Outstanding", signed_in),
        Page("invoice_list", "/invoices/", b"INV-", signed_in),
        Page("invoice_search", f"/invoices/?{search}", b"INV-", signed_in),
        Page("invoice_detail", f"/invoices/{invoice.pk}/", invoice.number.encode(), signed_in),
        Page("invoice_pdf", f"/invoices/{invoice.pk}/pdf/", b"%PDF", signed_in),
        Page("reports", "/reports/", b"Aging of USD", signed_in),
        Page("pay_page", pay_path, b"Pay $"),
        # The invoice list through the API: the same selector, a page of 50 as JSON, with a key.
        Page(
            "api_invoices", "/api/v1/invoices", b'"object": "invoice"', (f"Authorization: Bearer {api_key}",)
        ),
    ]


def bench_invoice(partner: Partner) -> Invoice:
    """The big partner's five-line open invoice to a customer with a saved card: made once, reused."""
    with scope(partner=partner), transaction.atomic():
        # The seed numbered its invoices INV-000001 to INV-400000 without the partner's counter.
        today = partner.today()
        if number_peek(partner=partner, kind=NumberKind.INVOICE, on_date=today) <= BIG:
            number_set_next(partner=partner, kind=NumberKind.INVOICE, on_date=today, next_value=BIG + 1)
        customer = customer_with_card(partner, email="bench-http@example.com", name="Bench HTTP Customer")
        return five_line_invoice(customer)


def bench_pay_path(invoice: Invoice) -> str:
    """The bench invoice's pay page. Its link is issued once and its path kept in a file named after the
    database: issuing one each run added a "new pay link" and a "viewed" line to the invoice's timeline,
    so the invoice page grew heavier from one run to the next."""
    saved = (
        Path(tempfile.gettempdir()) / f"bench_http_pay_path_{connection.settings_dict['NAME']}_{invoice.pk}"
    )
    if saved.exists():
        path = saved.read_text().strip()
        with contextlib.suppress(Resolver404, KeyError):
            if pay_link_resolve(token=resolve(path).kwargs["token"]).ok:
                return path
    with scope(partner=invoice.partner):
        url = pay_link_reissue(invoice=invoice, actor=None)
    path = "/" + url.split("://", 1)[1].split("/", 1)[1]
    saved.write_text(path)
    return path


def signed_in_cookie(partner: Partner, paths: list[str]) -> str:
    """The Cookie header of a browser signed in as the partner's owner that has opened these pages
    (so it holds the CSRF cookie too, and the session already names the partner)."""
    client = owner_client(partner)
    for path in paths:
        assert client.get(path).status_code == 200, path
    return "; ".join(f"{name}={morsel.value}" for name, morsel in client.cookies.items())


def gunicorn_command(port: int) -> list[str]:
    """The Dockerfile's CMD, bound to 127.0.0.1:<port> and run from this virtualenv."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    (command,) = [json.loads(line[4:]) for line in text.splitlines() if line.startswith("CMD ")]
    assert command[0] == "gunicorn", command
    command[0] = str(Path(sys.executable).with_name("gunicorn"))
    command[command.index("--bind") + 1] = f"127.0.0.1:{port}"
    return command


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(port: int, page: Page) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", page.path, headers=dict(h.split(": ", 1) for h in page.headers))
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def wait_until_serving(port: int, server: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"gunicorn exited with code {server.returncode} before serving")
        try:
            if fetch(port, HEALTHZ)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    sys.exit(f"gunicorn did not answer /healthz within {seconds:.0f} s")


def wrk(port: int, page: Page, seconds: int) -> Run:
    command = ["wrk", f"--threads={WRK_THREADS}", f"--connections={CONNECTIONS}", f"--duration={seconds}s"]
    command += ["--latency", "--timeout=10s", f"--script={WRK_SCRIPT}"]
    for header in page.headers:
        command += ["--header", header]
    output = subprocess.run(
        [*command, f"http://127.0.0.1:{port}{page.path}"], capture_output=True, text=True, check=True
    ).stdout
    found = re.search(r"^WRK (.*)$", output, re.MULTILINE)
    if found is None:
        sys.exit(f"wrk printed no report for {page.name}:\n{output}")
    values = {key: int(value) for key, value in (pair.split("=") for pair in found.group(1).split())}
    errors = {key: values[key] for key in ("not_2xx", "connect", "read", "write", "timeout") if values[key]}
    if not values["requests"]:
        errors["no_response"] = 1  # not one answer in the whole run
    # wrk stops with a request outstanding on each connection, which gunicorn still serves: let them end
    # (within twice the slowest latency seen, or 30 s) before the next run, or they would count against it.
    time.sleep(min(2 * values["max_us"] / 1e6, 30) if values["requests"] else 30)
    return Run(values["requests"], values["duration_us"] / 1e6, values["p99_us"] / 1000, errors)


def process_cpu(pid: int, *, reaped_children: bool = False) -> float:
    """CPU seconds of a process on this machine (0 once it is gone), and of its children it has reaped."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    ticks = fields[11:15] if reaped_children else fields[11:13]  # utime stime [cutime cstime]
    return sum(int(tick) for tick in ticks) / os.sysconf("SC_CLK_TCK")


def workers(server: Server) -> set[int]:
    return {int(pid) for pid in Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()}


def server_cpu(server: Server) -> float:
    """gunicorn's CPU seconds: the master, its workers, and the workers max-requests has replaced."""
    return process_cpu(server.pid, reaped_children=True) + sum(process_cpu(pid) for pid in workers(server))


def database_cpu() -> dict[int, float] | None:
    """CPU seconds of each PostgreSQL backend on the bench database but this process's own; None when
    PostgreSQL runs elsewhere. A backend that exits meanwhile (its worker replaced) is not counted."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        pids = [pid for (pid,) in cursor.fetchall()]
    if not all(Path(f"/proc/{pid}").exists() for pid in pids):
        return None
    return {pid: process_cpu(pid) for pid in pids}


def served(server: Server, since: int) -> tuple[int, int]:
    """Requests gunicorn logged after byte `since` of its log, and where the log ends now."""
    with open(server.log, "rb") as log:
        log.seek(since)
        new = log.read()
    return sum(1 for line in new.splitlines() if line.startswith(b"127.0.0.1 ")), since + len(new)


def metered(server: Server, page: Page, seconds: int) -> Run:
    """A wrk run, and the CPU a request cost the server over it (the requests still outstanding when
    wrk stopped included, counted from gunicorn's access log)."""
    _, offset = served(server, 0)
    app, database, started_with = server_cpu(server), database_cpu(), workers(server)
    run = wrk(server.port, page, seconds)
    requests, _ = served(server, offset)
    # max-requests replaces a worker after about 1,000 requests: its successor's start-up is no request's.
    replaced = len(started_with - workers(server))
    app_ms = (server_cpu(server) - app - replaced * server.worker_start_cpu) * 1000 / max(requests, 1)
    db_ms = None
    if database is not None and (after := database_cpu()) is not None:
        db_ms = sum(cpu - database.get(pid, 0.0) for pid, cpu in after.items()) * 1000 / max(requests, 1)
    return dataclasses.replace(run, app_cpu_ms=app_ms, db_cpu_ms=db_ms)


def measure(
    server: Server, page_list: list[Page]
) -> tuple[dict[str, Run], list[Run], dict[str, dict[str, int]]]:
    """Each page once, /healthz before the first and after each; warm-up runs count only their errors."""
    runs: dict[str, Run] = {}
    healthz = [metered(server, HEALTHZ, HEALTHZ_SECONDS)]
    errors = {"healthz": dict(healthz[0].errors)}
    for page in page_list:
        warmup = wrk(server.port, page, WARMUP_SECONDS)
        runs[page.name] = metered(server, page, PAGE_SECONDS)
        healthz.append(metered(server, HEALTHZ, HEALTHZ_SECONDS))
        # A page's first requests in each worker load its templates and code: slow, but not errors.
        warmup.errors.pop("no_response", None)
        errors[page.name] = merged(warmup.errors, runs[page.name].errors)
        errors["healthz"] = merged(errors["healthz"], healthz[-1].errors)
    return runs, healthz, errors


def merged(first: dict[str, int], second: dict[str, int]) -> dict[str, int]:
    return {key: first.get(key, 0) + second.get(key, 0) for key in first.keys() | second.keys()}


def machine_notes(command: list[str]) -> None:
    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    print(f"# {time.strftime('%Y-%m-%d %H:%M %Z')}; {os.cpu_count()} CPUs; load average", end=" ")
    print(" ".join(f"{load:.2f}" for load in os.getloadavg()), flush=True)
    print(f"# Python {platform.python_version()} ({sys._base_executable}); {wrk_version.strip()}", flush=True)
    print(f"# {' '.join(['gunicorn', *command[1:]])}; DEBUG={settings.DEBUG}", flush=True)
    print(f"# wrk: {CONNECTIONS} connections, {WRK_THREADS} threads, {PAGE_SECONDS} s a page", flush=True)


@contextlib.contextmanager
def serving() -> Iterator[Server]:
    """gunicorn as the Dockerfile runs it, until the block ends."""
    port = free_port()
    command = gunicorn_command(port)
    with tempfile.NamedTemporaryFile(prefix="bench_http_gunicorn_", suffix=".log", delete=False) as log:
        server = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, "DEBUG": "false"}, stdin=subprocess.DEVNULL,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        wait_until_serving(port, server)
        started = Server(port, server.pid, log.name, command)
        # What each worker has spent by now is its start-up (and at most one /healthz).
        yield dataclasses.replace(
            started, worker_start_cpu=statistics.median(process_cpu(pid) for pid in workers(started))
        )
    finally:
        server.send_signal(signal.SIGTERM)  # gunicorn's graceful stop
        try:
            server.wait(timeout=40)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def report_cpu(name: str, app_ms: float, db_ms: float | None) -> None:
    """CPU a request: it does not depend on how busy the machine is, as throughput does (more or less:
    a crowded machine's caches make everything a little slower)."""
    report(f"http_{name}_app_cpu_ms", app_ms, "ms")
    if db_ms is not None:
        report(f"http_{name}_db_cpu_ms", db_ms, "ms")


def main() -> int:
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install wrk): no http_* figures")
    partner = seed()
    seed_dashboard(partner)
    invoice = bench_invoice(partner)
    pay_path = bench_pay_path(invoice)
    cookie = signed_in_cookie(partner, ["/", f"/invoices/{invoice.pk}/"])
    with scope(partner=partner):
        _, api_key = api_key_create(
            partner=partner, name="bench_http", scope=ApiKeyScope.READ, created_by=None
        )
    # The key's rate limit is still counted on every request (a Redis INCR), just never reached.
    os.environ.setdefault("API_RATE_LIMIT", "1000000000/60")
    page_list = pages(invoice, pay_path, cookie, api_key)
    if wanted := [name for name in os.environ.get("BENCH_HTTP_PAGES", "").split(",") if name]:
        unknown = set(wanted) - {page.name for page in page_list}
        if unknown:
            sys.exit(f"BENCH_HTTP_PAGES names no such page: {', '.join(sorted(unknown))}")
        page_list = [page for page in page_list if page.name in wanted]

    with serving() as server:
        for page in page_list:  # the first download of the PDF stores it; wrk measures the stored one
            status, body = fetch(server.port, page)
            assert status == 200 and page.expect in body, (page.name, status, body[:300])
        machine_notes(server.command)
        print(f"# a worker's start-up: {server.worker_start_cpu * 1000:.0f} ms of CPU", flush=True)
        runs, healthz, errors = measure(server, page_list)

    report("http_healthz_rps", statistics.mean(run.rps for run in healthz), "req/s")
    report("http_healthz_p99_ms", statistics.median(run.p99_ms for run in healthz), "ms")
    db_cpu = [run.db_cpu_ms for run in healthz if run.db_cpu_ms is not None]
    report_cpu(
        "healthz",
        statistics.median(run.app_cpu_ms for run in healthz),
        statistics.median(db_cpu) if db_cpu else None,
    )
    figures = {}
    for index, page in enumerate(page_list):
        run = runs[page.name]
        around = statistics.mean(healthz_run.rps for healthz_run in healthz[index : index + 2])
        figures[f"http_{page.name}_vs_healthz"] = run.rps / around
        figures[f"http_{page.name}_p99_ms"] = run.p99_ms
        report(f"http_{page.name}_rps", run.rps, "req/s")
        report(f"http_{page.name}_p99_ms", run.p99_ms, "ms")
        report(f"http_{page.name}_vs_healthz", run.rps / around, "x")
        report_cpu(page.name, run.app_cpu_ms, run.db_cpu_ms)
    failed = {name: counts for name, counts in errors.items() if counts}
    figures["http_errors"] = sum(sum(counts.values()) for counts in failed.values())
    report("http_errors", figures["http_errors"], "errors")
    for line in target_verdicts(figures):
        print(f"# {line}", flush=True)
    if failed:
        print(f"# errors by page: {failed}; gunicorn's log: {server.log}", file=sys.stderr, flush=True)
        return 1
    os.unlink(server.log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
