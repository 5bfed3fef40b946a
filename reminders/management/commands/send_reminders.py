from django.core.management.base import BaseCommand
from django.utils import timezone

from reminders import schedule, services


class Command(BaseCommand):
    help = (
        "Send or skip every reminder, receipt and notice whose time has come, and hand lost emails to a "
        "worker again: what beat runs every minute. Safe beside the worker and beside itself."
    )

    def handle(self, *args, **options) -> None:
        decided = schedule.notifications_send_due()
        resent = services.emails_sweep(now=timezone.now())
        self.stdout.write(f"Decided {decided} notification(s); handed {resent} unsent email(s) to a worker.")
