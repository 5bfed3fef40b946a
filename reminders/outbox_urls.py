from django.urls import path

from reminders import outbox_views

urlpatterns = [
    path("", outbox_views.outbox_list, name="outbox_list"),
    path("<int:email_id>/", outbox_views.outbox_detail, name="outbox_detail"),
    path("<int:email_id>/html/", outbox_views.outbox_html, name="outbox_html"),
    path("<int:email_id>/attachments/<int:index>/", outbox_views.outbox_attachment, name="outbox_attachment"),
]
