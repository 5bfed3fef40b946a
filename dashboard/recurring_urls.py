from django.urls import path

from dashboard.views import recurring

urlpatterns = [
    path("", recurring.recurring_list, name="recurring_list"),
    path("new/", recurring.recurring_create, name="recurring_create"),
    path("preview/", recurring.recurring_preview, name="recurring_preview"),
    path("<int:schedule_id>/", recurring.recurring_detail, name="recurring_detail"),
    path("<int:schedule_id>/edit/", recurring.recurring_edit, name="recurring_edit"),
    path("<int:schedule_id>/pause/", recurring.recurring_pause, name="recurring_pause"),
    path("<int:schedule_id>/resume/", recurring.recurring_resume, name="recurring_resume"),
    path("<int:schedule_id>/cancel/", recurring.recurring_cancel, name="recurring_cancel"),
]
