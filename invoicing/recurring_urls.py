from django.urls import path

from invoicing.views import recurring

urlpatterns = [
    path("", recurring.recurring_list, name="recurring_list"),
]
