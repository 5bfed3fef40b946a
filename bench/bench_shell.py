"""Server time of the dashboard shell and /healthz, through the full middleware stack (Django test client)."""

from harness import p95_ms, report, setup

setup()

from django.test import Client  # noqa: E402
from django_scopes import scopes_disabled  # noqa: E402

from partners.models import Membership, Partner, Role, User  # noqa: E402


def bench_user() -> User:
    with scopes_disabled():
        user, _ = User.objects.get_or_create(email="bench-owner@example.com")
        partner, _ = Partner.objects.get_or_create(name="Bench Partner")
        Membership.objects.get_or_create(partner=partner, user=user, defaults={"role": Role.OWNER})
    return user


client = Client(SERVER_NAME="127.0.0.1")
client.force_login(bench_user())
assert client.get("/").status_code == 200
report("dashboard_shell_p95_ms", p95_ms(lambda: client.get("/")), "ms")
report("healthz_p95_ms", p95_ms(lambda: client.get("/healthz")), "ms")
