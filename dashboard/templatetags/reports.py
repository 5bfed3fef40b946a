"""Links from a figure to the invoices behind it."""

from urllib.parse import urlencode

from django import template
from django.urls import reverse

from invoicing.selectors import InvoiceFilters

register = template.Library()


@register.simple_tag
def invoice_list_url(filters: InvoiceFilters) -> str:
    """{% invoice_list_url figure.filters %} -> /invoices/?tab=overdue&currency=USD&sort=due"""
    params = filters.as_params()
    return reverse("invoice_list") + ("?" + urlencode(params) if params else "")
