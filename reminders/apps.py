from django.apps import AppConfig


class RemindersConfig(AppConfig):
    name = "reminders"
    verbose_name = "Emails and reminders"

    def ready(self) -> None:
        from anymail.signals import tracking

        from reminders.tracking import tracking_received

        tracking.connect(tracking_received, dispatch_uid="reminders.tracking")
