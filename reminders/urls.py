from django.urls import path

from reminders import views

urlpatterns = [
    path("invoices/<int:invoice_id>/send/", views.invoice_send, name="invoice_send"),
    path("upcoming/", views.upcoming_list, name="upcoming"),
    path("settings/notifications/", views.notification_settings_edit, name="settings_notifications"),
    path("settings/notifications/preview/", views.email_preview, name="email_preview"),
    path("settings/notifications/preview/html/", views.email_preview_html, name="email_preview_html"),
    path(
        "settings/notifications/paused/<int:suppressed_id>/resume/",
        views.suppressed_resume,
        name="suppressed_resume",
    ),
]
