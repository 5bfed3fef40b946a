from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """The partner's pages that show or change more than one app's data: home, invoices (list, form,
    detail and its money actions), customers, reports and activity. The top layer: it may import every
    app, and no app imports it."""

    name = "dashboard"
