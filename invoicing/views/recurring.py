from django.shortcuts import render

from partners.permissions import partner_view


@partner_view()
def recurring_list(request):
    return render(request, "invoicing/recurring_list.html")
