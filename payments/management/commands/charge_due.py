"""Run the due-date job once, here and now, as beat's `payments.tasks.charge_due_invoices` would."""

from django.core.management.base import BaseCommand, CommandError

from payments.jobs import charge_due_invoices


class Command(BaseCommand):
    help = (
        "Charge every open invoice whose scheduled charge (Charge on due date, or a retry) has come. "
        "Safe to run beside the worker and beside itself: each run claims its own invoices."
    )
    # Run by beat-like schedulers and scripts, often many at once: skip the start-up checks (they
    # import every view, PDF rendering included).
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch",
            type=int,
            default=None,
            help="Invoices claimed per transaction (default: PAYMENT_CHARGE_BATCH).",
        )

    def handle(self, *args, batch: int | None, **options):
        if batch is not None and batch < 1:
            raise CommandError("--batch must be at least 1.")
        made = charge_due_invoices(batch=batch)
        self.stdout.write(f"{made} payment attempt{'' if made == 1 else 's'} made")
