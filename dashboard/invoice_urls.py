from django.urls import path

from dashboard.views import invoice_payments as payments
from dashboard.views import invoices

urlpatterns = [
    path("", invoices.invoice_list, name="invoice_list"),
    path("new/", invoices.invoice_create, name="invoice_create"),
    path("new/preview/", invoices.invoice_form_preview, name="invoice_form_preview"),
    path("<int:invoice_id>/", invoices.invoice_detail, name="invoice_detail"),
    path("<int:invoice_id>/forms/<str:name>/", invoices.invoice_action_form, name="invoice_action_form"),
    path("<int:invoice_id>/edit/", invoices.invoice_edit, name="invoice_edit"),
    path("<int:invoice_id>/finalize/", invoices.invoice_finalize, name="invoice_finalize"),
    path("<int:invoice_id>/void/", invoices.invoice_void, name="invoice_void"),
    path(
        "<int:invoice_id>/uncollectible/",
        invoices.invoice_mark_uncollectible,
        name="invoice_mark_uncollectible",
    ),
    path("<int:invoice_id>/duplicate/", invoices.invoice_duplicate, name="invoice_duplicate"),
    path("<int:invoice_id>/memo/", invoices.invoice_memo, name="invoice_memo"),
    path("<int:invoice_id>/payments/", invoices.invoice_record_payment, name="invoice_record_payment"),
    path("<int:invoice_id>/credit-notes/", invoices.invoice_credit_note, name="invoice_credit_note"),
    path("<int:invoice_id>/charge/", payments.invoice_charge, name="invoice_charge"),
    path(
        "<int:invoice_id>/payments/<int:payment_id>/refund/", payments.invoice_refund, name="invoice_refund"
    ),
    path("<int:invoice_id>/payment-status/", payments.invoice_payment_status, name="invoice_payment_status"),
    path("<int:invoice_id>/pay-link/", payments.invoice_pay_link_reissue, name="invoice_pay_link_reissue"),
]
