from django.apps import AppConfig
from django.core import checks


class RemindersConfig(AppConfig):
    name = "reminders"
    verbose_name = "Emails and reminders"

    def ready(self) -> None:
        from anymail.signals import tracking

        from reminders.checks import webhook_secret_check
        from reminders.tracking import tracking_received

        tracking.connect(tracking_received, dispatch_uid="reminders.tracking")
        checks.register(webhook_secret_check, checks.Tags.security, deploy=True)
