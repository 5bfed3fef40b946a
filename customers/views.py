from django.shortcuts import render

from partners.permissions import partner_view


@partner_view()
def customer_list(request):
    return render(request, "customers/customer_list.html")
