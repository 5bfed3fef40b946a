"""The deployment files (Dockerfile, docker-compose.yml, .env.example) agree with the app.

Each test reads those files as text and checks a name in them against the code: the gunicorn target
imports, `celery -A` finds the Celery app, `manage.py` commands exist, every variable is one the
settings read, the healthcheck URL resolves, the image installs the hashed lock that holds what the
app imports. None needs a database.

PyYAML is not a dependency, and adding one for a test is not worth it, so docker-compose.yml is kept
to a small subset of YAML and read by `read_compose` below: two-space indents, `key: value`,
`key:` opening a block, `- item` lines, values plain, quoted or a JSON list, whole-line comments.
The reader raises, naming the line, on anything else (anchors, flow mappings, multi-line strings,
trailing comments, tabs, odd indents, duplicate keys), so an edit it would misread fails here loudly
instead of passing unchecked. That is simpler and safer than regexes over the raw text, which cannot
tell which service a line belongs to.
"""

import ast
import functools
import importlib
import importlib.metadata
import inspect
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from urllib.parse import SplitResult, urlsplit

import pytest
from celery import Celery
from celery.app.utils import find_app
from django.conf import settings
from django.core.management import get_commands
from django.urls import resolve

from config import health

ROOT = Path(__file__).resolve().parent.parent
FIRST_PARTY = {"config", "partners", "customers", "invoicing", "payments", "reminders"}
# What the app cannot run without, named so that the lock cannot silently lose one; `app_imports` finds
# the rest. gunicorn runs the app rather than being imported by it, and weasyprint will render the PDFs.
ESSENTIAL_PACKAGES = {
    "django", "celery", "redis", "gunicorn", "whitenoise", "psycopg", "django-environ", "django-scopes",
    "django-htmx", "django-anymail", "weasyprint",
}  # fmt: skip
KEY = re.compile(r"[A-Za-z0-9_.-]+")
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-?][^}]*)?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


# Reading the files ----------------------------------------------------------------------------------


def _scalar(text: str, number: int) -> str | list[str]:
    if text[:1] in set("&*!|>{%@`"):
        raise ValueError(f"docker-compose.yml line {number}: {text[:1]!r} values are outside the subset")
    if text.startswith(("[", '"')):
        return json.loads(text)
    if text.startswith("'"):
        if not text.endswith("'") or len(text) < 2:
            raise ValueError(f"docker-compose.yml line {number}: unterminated quote")
        return text[1:-1].replace("''", "'")
    if " #" in text or ": " in text:
        raise ValueError(f"docker-compose.yml line {number}: quote a value holding ' #' or ': '")
    return text


def read_compose(text: str) -> dict:
    """Read the YAML subset described in the module docstring into dicts, lists and strings."""
    root: dict = {}
    # Open blocks, innermost last: [indent of the key that opened it, the block, indent of its lines].
    stack: list[list] = [[-1, root, 0]]
    pending: tuple[int, dict, str] | None = None  # a `key:` line whose block starts on the next line
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        if "\t" in raw or indent % 2:
            raise ValueError(f"docker-compose.yml line {number}: indent with two spaces, no tabs")
        if pending and indent > pending[0]:
            block = [] if line.startswith("- ") else {}
            pending[1][pending[2]] = block
            stack.append([pending[0], block, indent])
        pending = None
        while indent <= stack[-1][0]:
            stack.pop()
        _, block, block_indent = stack[-1]
        if indent != block_indent:
            raise ValueError(f"docker-compose.yml line {number}: indented {indent}, expected {block_indent}")
        if line.startswith("- "):
            if not isinstance(block, list):
                raise ValueError(f"docker-compose.yml line {number}: a list item inside a mapping")
            block.append(_scalar(line[2:], number))
            continue
        key, colon, value = line.partition(":")
        if not isinstance(block, dict) or not colon or not KEY.fullmatch(key) or value[:1] not in ("", " "):
            raise ValueError(f"docker-compose.yml line {number}: expected `key: value`, found {line!r}")
        if key in block:
            raise ValueError(f"docker-compose.yml line {number}: duplicate key {key!r}")
        block[key] = _scalar(value.strip(), number) if value.strip() else None
        if not value.strip():
            pending = (indent, block, key)
    return root


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = (line.strip() for line in text.splitlines())
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def dockerfile_cmd() -> list[str]:
    (cmd,) = [args for instruction, args in dockerfile_instructions() if instruction == "CMD"]
    return json.loads(cmd)  # the exec form: gunicorn is PID 1 and receives the stop signal itself


def read_env_file(path: Path) -> dict[str, str]:
    """`NAME=value` lines as docker compose's env_file reads them (surrounding quotes removed)."""
    variables = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            assert name.strip() not in variables, f"{path.name} sets {name} twice"
            variables[name.strip()] = value.strip().removeprefix('"').removesuffix('"')
    return variables


@functools.cache
def settings_variables() -> tuple[set[str], tuple[str, ...]]:
    """The names config/settings/base.py reads with env(...), and the prefixes it reads as a family."""
    source = (ROOT / "config" / "settings" / "base.py").read_text()
    names = set(re.findall(r"\benv(?:\.[a-z_]+)?\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']", source))
    prefixes = tuple(re.findall(r"\.startswith\(\s*[\"']([A-Z][A-Z0-9_]*_)[\"']", source))
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "DEBUG"} <= names, "the settings parser broke"
    return names, prefixes


def is_read_by_settings(name: str) -> bool:
    names, prefixes = settings_variables()
    return name in names or name.startswith(prefixes)


def interpolated(text: str) -> set[str]:
    """Variables docker compose substitutes into `text` (`$$` is a literal dollar, left to the shell)."""
    return {a or b for a, b in INTERPOLATION.findall(text.replace("$$", ""))}


def interpolate(text: str, variables: dict[str, str]) -> str:
    substituted = INTERPOLATION.sub(lambda match: variables[match[1] or match[2]], text.replace("$$", "\0"))
    return substituted.replace("\0", "$")


def locked_packages() -> dict[str, str]:
    """requirements/base.txt as {normalized name: the whole requirement, hash lines included}."""
    text = (ROOT / "requirements" / "base.txt").read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text)
    return {
        normalize(match[1]): entry
        for entry in entries
        if (match := re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==", entry))
    }


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# Fixtures ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose_text() -> str:
    return (ROOT / "docker-compose.yml").read_text()


@pytest.fixture(scope="module")
def services(compose_text) -> dict[str, dict]:
    return read_compose(compose_text)["services"]


@pytest.fixture(scope="module")
def app_services(services) -> dict[str, dict]:
    """The services that run this repository's image (the others are PostgreSQL and Redis)."""
    built = {service.get("image") for service in services.values() if "build" in service}
    return {
        name: service
        for name, service in services.items()
        if "build" in service or service.get("image") in built
    }


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    return read_env_file(ROOT / ".env.example")


@pytest.fixture(scope="module")
def web_environment(services, env_example) -> dict[str, str]:
    """The environment compose gives the web container if .env is a copy of .env.example."""
    environment = services["web"]["environment"]
    overrides = {name: interpolate(value, env_example) for name, value in environment.items()}
    return {"PATH": os.environ["PATH"], **env_example, **overrides}


def healthcheck_command(service: dict) -> str:
    kind, *args = service["healthcheck"]["test"]
    assert kind in {"CMD", "CMD-SHELL"}
    return args[0] if kind == "CMD-SHELL" else shlex.join(args)


def web_healthcheck_url(services) -> SplitResult:
    return urlsplit(re.search(r"http://[^'\"\s]+", healthcheck_command(services["web"]))[0])


def commands(services) -> list[str]:
    """Every command line the deployment runs: compose commands and healthchecks, Dockerfile RUN/CMD."""
    found = [service["command"] for service in services.values() if "command" in service]
    found += [healthcheck_command(s) for s in services.values() if "healthcheck" in s]
    found += [args for instruction, args in dockerfile_instructions() if instruction == "RUN"]
    return [*found, shlex.join(dockerfile_cmd())]


# The compose reader itself --------------------------------------------------------------------------


def test_read_compose_reads_the_subset():
    text = 'a:\n  b: "x: y"\n  c:\n    - one\n    - ["CMD", "z"]\n  d:\n# note\ne: plain $$X\n'
    assert read_compose(text) == {"a": {"b": "x: y", "c": ["one", ["CMD", "z"]], "d": None}, "e": "plain $$X"}


@pytest.mark.parametrize(
    "text",
    [
        "a: &anchor 1\n",
        "a: {b: 1}\n",
        "a: |\n  text\n",
        "a: 1 # trailing comment\n",
        "a:\n   b: 1\n",
        "a:\n  b: 1\n    c: 2\n",
        "a: 1\na: 2\n",
        "<<: x\n",
        "a:\n\tb: 1\n",
    ],
)
def test_read_compose_rejects_what_it_would_misread(text):
    with pytest.raises(ValueError, match="line"):
        read_compose(text)


# docker-compose.yml ---------------------------------------------------------------------------------


def test_compose_declares_the_production_services(compose_text, services):
    assert "version" not in read_compose(compose_text)
    assert {"web", "worker", "beat", "postgres", "redis"} <= set(services)
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    assert services["worker"]["command"].split()[:4] == ["celery", "-A", "config", "worker"]
    assert services["beat"]["command"].split()[:4] == ["celery", "-A", "config", "beat"]
    web_command = services["web"].get("command", shlex.join(dockerfile_cmd()))
    assert web_command.split()[0] == "gunicorn"
    missing_restart = [name for name, service in services.items() if "restart" not in service]
    assert not missing_restart, f"services without a restart policy: {missing_restart}"


def test_app_services_read_env_file_and_reach_the_compose_databases(services, app_services):
    assert {"web", "worker", "beat"} <= set(app_services)
    for name, service in app_services.items():
        assert service.get("env_file") == ".env", name
        environment = service["environment"]
        assert urlsplit(environment["DATABASE_URL"]).hostname == "postgres", name
        assert urlsplit(environment["REDIS_URL"]).hostname == "redis", name


def test_services_start_after_what_they_depend_on(services, app_services):
    for name, service in services.items():
        for target, rule in (service.get("depends_on") or {}).items():
            assert target in services, f"{name} depends on a missing service {target}"
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in services[target], f"{name} waits on {target}: no healthcheck"
    for name, service in app_services.items():
        for database in ("postgres", "redis"):
            assert service["depends_on"][database]["condition"] == "service_healthy", name
    assert "healthcheck" in services["web"]
    assert "healthcheck" in services["worker"]


def test_migrations_run_before_web_worker_and_beat(services):
    migrating = [name for name, s in services.items() if "manage.py migrate" in s.get("command", "")]
    assert migrating, "no service runs `python manage.py migrate`"
    for name in ("web", "worker", "beat"):
        if name in migrating:
            continue
        conditions = {target: rule["condition"] for target, rule in services[name]["depends_on"].items()}
        assert any(conditions.get(m) == "service_completed_successfully" for m in migrating), name
    for name in migrating:
        assert "--no-input" in services[name]["command"], "migrate must not wait for a question"


# The names in the files are real -------------------------------------------------------------------


def test_gunicorn_serves_an_importable_wsgi_application(services):
    cmd = dockerfile_cmd()
    assert cmd[0] == "gunicorn"
    target = next(arg for arg in cmd[1:] if not arg.startswith("-"))
    assert target == "config.wsgi:application"
    module_name, _, attribute = target.partition(":")
    application = getattr(importlib.import_module(module_name), attribute)
    assert callable(application)
    assert len(inspect.signature(application).parameters) == 2  # (environ, start_response)

    bind = cmd[cmd.index("--bind") + 1]
    port = bind.rpartition(":")[2]
    assert bind.startswith("0.0.0.0:"), "in a container gunicorn must listen on every interface"
    assert web_healthcheck_url(services).port == int(port)
    assert all(str(mapping).endswith(f":{port}") for mapping in services["web"].get("ports", []))


def test_celery_app_named_by_every_celery_command_has_a_registered_beat_schedule(services):
    app_names = set()
    for command in commands(services):
        words = shlex.split(command)
        if "celery" in words:
            app_names.add(words[words.index("-A") + 1])
    assert app_names == {"config"}
    app = find_app("config")  # how `celery -A config` finds it
    assert isinstance(app, Celery)
    app.loader.import_default_modules()
    schedule = app.conf.beat_schedule
    assert schedule, "beat would have nothing to send"
    unregistered = {name: entry["task"] for name, entry in schedule.items() if entry["task"] not in app.tasks}
    assert not unregistered, f"beat schedules tasks no worker knows: {unregistered}"


def test_manage_py_commands_exist(services):
    used = {name for command in commands(services) for name in re.findall(r"manage\.py\s+([\w-]+)", command)}
    assert {"migrate", "collectstatic"} <= used
    assert used <= set(get_commands()), f"unknown management commands: {used - set(get_commands())}"


def test_web_healthcheck_url_is_the_health_view(services):
    url = web_healthcheck_url(services)
    assert resolve(url.path).func is health.healthz


def test_worker_healthcheck_pings_this_worker(services):
    command = healthcheck_command(services["worker"])
    assert re.search(r"celery -A config inspect ping\b.*-d celery@\$\$HOSTNAME", command)


# Environment variables ---------------------------------------------------------------------------


def test_compose_sets_only_variables_the_settings_read(compose_text, app_services, env_example):
    for name, service in app_services.items():
        unread = {key for key in service.get("environment") or {} if not is_read_by_settings(key)}
        assert not unread, f"{name} sets variables the settings never read: {unread}"
    # Interpolated from .env by compose itself (e.g. the PostgreSQL password): must be documented.
    undocumented = interpolated(compose_text) - set(env_example)
    assert not undocumented, f"docker-compose.yml uses variables missing from .env.example: {undocumented}"


def test_env_example_lists_every_variable_the_settings_read(compose_text, env_example):
    names, _ = settings_variables()
    assert not names - set(env_example), f".env.example lacks {names - set(env_example)}"
    read_by_compose = interpolated(compose_text)
    unknown = {name for name in env_example if not is_read_by_settings(name) and name not in read_by_compose}
    assert not unknown, f".env.example sets variables nothing reads: {unknown}"


def test_env_example_is_safe_and_passes_the_web_healthcheck(services, env_example):
    assert env_example["DEBUG"].lower() == "false"
    assert env_example["SECRET_KEY"].startswith("change-me")
    assert urlsplit(env_example["DATABASE_URL"]).scheme.startswith("postgres")
    healthcheck_host = web_healthcheck_url(services).hostname
    assert healthcheck_host in env_example["ALLOWED_HOSTS"].split(","), "the web healthcheck would get a 400"


def test_env_example_passes_the_production_system_checks(web_environment):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "ERROR"],
        cwd=ROOT,
        env={**web_environment, "DJANGO_SETTINGS_MODULE": "config.settings.base"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("secret", "warned"),
    [
        (None, "ANYMAIL_WEBHOOK_SECRET is not set"),
        ("change-me:change-me", "ANYMAIL_WEBHOOK_SECRET is still the .env.example placeholder"),
        ("postmark-hook:0b6c1f4e9a7d2c5b8e3f", None),
    ],
)
def test_check_deploy_warns_while_the_webhook_secret_is_missing_or_the_placeholder(
    web_environment, secret, warned
):
    environment = {
        **web_environment,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "EMAIL_ESP": "postmark",
    }
    environment.pop("ANYMAIL_WEBHOOK_SECRET", None)
    if secret is not None:
        environment["ANYMAIL_WEBHOOK_SECRET"] = secret
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    if warned:
        assert f"(reminders.W001) {warned}: the postmark tracking webhook refuses every event" in output
    else:
        assert result.returncode == 0, output
        assert "reminders.W001" not in output


# The image ---------------------------------------------------------------------------------------


def test_dockerfile_builds_from_the_locked_requirements_without_downloads():
    instructions = dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim-bookworm")
    installs = [args for instruction, args in instructions if instruction == "RUN" and "pip install" in args]
    assert len(installs) == 1
    assert {"--require-hashes", "-r", "requirements/base.txt"} <= set(shlex.split(installs[0]))
    assert not re.search(r"https?://", (ROOT / "Dockerfile").read_text())
    users = [args for instruction, args in instructions if instruction == "USER"]
    assert users, "the app must not run as root"
    assert users[-1].partition(":")[0] not in {"root", "0"}, "the app must not run as root"
    (collect,) = [args for instruction, args in instructions if "collectstatic" in args]
    assert "SECRET_KEY=" in collect, "collectstatic needs a (dummy) SECRET_KEY at build time"


def test_every_locked_requirement_is_pinned_with_a_hash():
    unhashed = [name for name, entry in locked_packages().items() if "--hash=sha256:" not in entry]
    assert not unhashed, f"pip --require-hashes would refuse: {unhashed}"
    assert len(locked_packages()) > len(ESSENTIAL_PACKAGES)


def app_imports() -> set[str]:
    """Top-level modules the app's own code imports, lazily or not, and the ones its settings name
    (apps, middleware, backends), which Django imports at startup. Read from the source rather than
    from sys.modules after startup: that would also list optional imports of dev-only packages (Celery
    tries greenlet, which only playwright installs here) and miss imports inside functions."""
    modules = set()
    for package in FIRST_PARTY:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if isinstance(node, ast.Import):
                    modules.update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0:
                    modules.add(node.module)
    named = [*settings.INSTALLED_APPS, *settings.MIDDLEWARE, settings.EMAIL_BACKEND]
    named += [backend["BACKEND"] for backend in [*settings.CACHES.values(), *settings.STORAGES.values()]]
    return {name.partition(".")[0] for name in [*modules, *named]} - FIRST_PARTY


def test_what_the_app_imports_is_locked():
    distributions = importlib.metadata.packages_distributions()
    imported = {normalize(dist) for module in app_imports() for dist in distributions.get(module, [])}
    assert {"django", "celery", "whitenoise", "django-htmx"} <= imported, "the import scan broke"
    missing = (imported | ESSENTIAL_PACKAGES) - set(locked_packages())
    assert not missing, f"used by the app but missing from requirements/base.txt: {missing}"
