"""System checks for operators: `manage.py check --deploy` warns before the app goes live misconfigured."""

from django.conf import settings
from django.core import checks

from reminders.webhooks import TRACKING_VIEWS, webhook_secret_problem


def webhook_secret_check(app_configs, **kwargs) -> list[checks.CheckMessage]:
    if settings.EMAIL_ESP not in TRACKING_VIEWS:
        return []  # SMTP, the console or the dev outbox: no tracking webhook to guard
    problem = webhook_secret_problem()
    if problem is None:
        return []
    return [
        checks.Warning(
            f"{problem}: the {settings.EMAIL_ESP} tracking webhook refuses every event, so bounces and spam "
            "complaints do not pause reminders and invoices show no delivery.",
            hint="Set ANYMAIL_WEBHOOK_SECRET=user:password (long and random) and put the same user:password "
            f"in the webhook URL you give {settings.EMAIL_ESP}: https://user:password@<host>/anymail/"
            f"{settings.EMAIL_ESP}/tracking/",
            id="reminders.W001",
        )
    ]
