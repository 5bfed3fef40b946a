"""Run the payments janitor once, as beat's `payments.tasks.resolve_stale_payments` would."""

import datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from payments.jobs import attempts_resolve_stale
from payments.services import refunds_resolve_stale


class Command(BaseCommand):
    help = (
        "Resolve payment attempts and refunds whose outcome is unknown (a worker died, the gateway "
        "did not answer) by asking the gateway with their own idempotency keys. Never charges with a "
        "new key."
    )
    # Run by beat-like schedulers and scripts, often many at once: skip the start-up checks (they
    # import every view, PDF rendering included).
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--stale-seconds",
            type=int,
            default=None,
            help="Treat attempts and refunds still pending after this many seconds as abandoned "
            "(default: PAYMENT_ATTEMPT_STALE_SECONDS). Use 0 only once every worker and runner has "
            "stopped, e.g. after an outage.",
        )

    def handle(self, *args, stale_seconds: int | None, **options):
        if stale_seconds is None:
            stale_seconds = settings.PAYMENT_ATTEMPT_STALE_SECONDS
        if stale_seconds < 0:
            raise CommandError("--stale-seconds can't be negative.")
        older_than = datetime.timedelta(seconds=stale_seconds)
        attempts = attempts_resolve_stale(older_than=older_than)
        refunds = refunds_resolve_stale(older_than=older_than)
        self.stdout.write(f"{attempts} payment attempt(s) and {refunds} refund(s) resolved")
