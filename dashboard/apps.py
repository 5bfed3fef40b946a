from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class DashboardConfig(AppConfig):
    """The partner's pages that show or change more than one app's data: home, invoices (list, form,
    detail and its money actions), customers, reports and activity. The top layer: it may import every
    app, and no app imports it."""

    name = "dashboard"

    def ready(self) -> None:
        from dashboard.figures import on_saved_or_deleted
        from invoicing.models import Invoice
        from payments.models import Payment
        from reminders.models import OutboundEmail, SuppressedAddress

        # What the cached dashboard and reports figures count (dashboard.figures): invoices, payments,
        # and the bounced emails and paused addresses.
        for model in (Invoice, Payment, OutboundEmail, SuppressedAddress):
            post_save.connect(on_saved_or_deleted, sender=model, dispatch_uid=f"figures-{model.__name__}")
            post_delete.connect(
                on_saved_or_deleted, sender=model, dispatch_uid=f"figures-del-{model.__name__}"
            )
