from django.urls import path

from invoicing.views import invoices

urlpatterns = [
    path("", invoices.invoice_list, name="invoice_list"),
]
