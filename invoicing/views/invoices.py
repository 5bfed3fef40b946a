from django.shortcuts import render

from partners.permissions import partner_view


@partner_view()
def invoice_list(request):
    return render(request, "invoicing/invoice_list.html")
