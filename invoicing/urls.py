from django.urls import path

from invoicing.views import pdf

urlpatterns = [
    path("<int:invoice_id>/pdf/", pdf.invoice_pdf_download, name="invoice_pdf"),
]
