"""Run the recurring-payments job once, here and now, as beat's `invoicing.tasks.issue_recurring` would."""

from django.core.management.base import BaseCommand

from invoicing.jobs import recurring_issue_due


class Command(BaseCommand):
    help = (
        "Issue every recurring invoice whose period has come in its partner's time zone, catching up "
        "missed periods. Safe beside beat and beside itself: each period is issued exactly once."
    )
    requires_system_checks = []  # run by schedulers and scripts, often several at once

    def handle(self, *args, **options):
        outcomes = recurring_issue_due()
        self.stdout.write(
            f"{outcomes['issued']} issued, {outcomes['skipped']} skipped, "
            f"{outcomes['paused']} paused, {outcomes['failed']} failed"
        )
