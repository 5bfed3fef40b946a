from django.urls import path

from dashboard.views import reports

urlpatterns = [
    path("", reports.reports_home, name="reports"),
    path("aging/", reports.aging_by_customer, name="aging_by_customer"),
    path("export/invoices.csv", reports.export_invoices, name="export_invoices"),
    path("export/payments.csv", reports.export_payments, name="export_payments"),
    path("export/customers.csv", reports.export_customers, name="export_customers"),
]
