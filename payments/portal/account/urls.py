from django.urls import path

from payments.portal.account import views

urlpatterns = [
    path("", views.invoices, name="portal_invoices"),
    path("sign-in/", views.sign_in, name="portal_sign_in"),
    path("sign-in/<str:token>/", views.sign_in_link, name="portal_sign_in_link"),
    path("sign-out/", views.sign_out, name="portal_sign_out"),
    path("pay/", views.pay, name="portal_pay"),
    path("payments/", views.payments, name="portal_payments"),
    path("invoices/<int:invoice_id>/pdf/", views.invoice_pdf, name="portal_invoice_pdf"),
    path("methods/", views.methods, name="portal_methods"),
    path("methods/<int:payment_method_id>/default/", views.method_default, name="portal_method_default"),
    path("methods/<int:payment_method_id>/remove/", views.method_remove, name="portal_method_remove"),
    path("auto-pay/", views.autopay, name="portal_autopay"),
    path("details/", views.details, name="portal_details"),
]
