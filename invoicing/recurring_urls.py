from django.urls import path

from invoicing import views

urlpatterns = [
    path("", views.recurring_list, name="recurring_list"),
]
