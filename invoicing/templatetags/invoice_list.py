"""The rows of the invoice list, written in Python rather than the template language.

The list is the busiest page for a large partner; rendering 50 rows through nested template tags and
filters cost about 10 ms per page, and format_html per row about 0.9 ms; plain f-strings cost about
0.3 ms. Every value that is not a number the code made itself goes through html.escape, which is
what django.utils.html.escape does (quotes included), without its lazy-string wrapper on each call.
"""

import datetime
from html import escape

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString

from invoicing.money import format_money
from invoicing.selectors import InvoiceRow

register = template.Library()


def _day(value: datetime.date) -> str:
    return f"{value:%b} {value.day}, {value.year}"


@register.simple_tag
def invoice_rows(invoices: list[InvoiceRow]) -> SafeString:
    detail_prefix = escape(reverse("invoice_list"))  # invoice_detail is this + "<id>/"
    rows = [
        f'<tr><td><a href="{detail_prefix}{int(invoice.pk)}/">{escape(invoice.display_number)}</a></td>'
        f"<td>{escape(invoice.customer_display_name)}</td>"
        f'<td><span class="status status-{escape(invoice.list_status[0])}">'
        f"{escape(invoice.list_status[1])}</span></td>"
        f'<td class="num">{escape(format_money(invoice.total, invoice.currency))}</td>'
        f'<td class="num">{escape(format_money(invoice.amount_due, invoice.currency))}</td>'
        f"<td>{_day(invoice.due_date)}</td><td>{_day(timezone.localtime(invoice.created_at).date())}</td></tr>"
        for invoice in invoices
    ]
    return SafeString("\n".join(rows))
