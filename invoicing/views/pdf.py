from django.http import HttpResponse
from django.utils.http import content_disposition_header
from django.views.decorators.cache import never_cache

from invoicing.pdf import invoice_pdf_get
from invoicing.selectors import invoice_get
from partners.permissions import partner_view


@never_cache
@partner_view()
def invoice_pdf_download(request, invoice_id: int):
    invoice = invoice_get(partner=request.partner, invoice_id=invoice_id)
    filename = f"{invoice.number or f'draft-{invoice.pk}'}.pdf"
    response = HttpResponse(invoice_pdf_get(invoice=invoice), content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    return response
