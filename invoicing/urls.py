from django.urls import path

from invoicing import views

urlpatterns = [
    path("", views.invoice_list, name="invoice_list"),
]
