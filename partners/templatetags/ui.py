"""The side navigation on every signed-in page: which links it has and which one is current."""

from django import template
from django.urls import reverse

register = template.Library()

# (URL name, label, also current on the pages under it)
NAV = [
    ("dashboard", "Home", False),
    ("invoice_list", "Invoices", True),
    ("recurring_list", "Recurring payments", True),
    ("customer_list", "Customers", True),
    ("upcoming", "Upcoming", False),
    ("reports", "Reports", True),
    ("activity_log", "Activity", False),
    ("settings_details", "Settings", True),
]


@register.inclusion_tag("includes/sidenav.html", takes_context=True)
def sidenav(context) -> dict:
    path = context["request"].path
    links = []
    for name, label, nested in NAV:
        url = reverse(name)
        links.append({"url": url, "label": label, "current": path.startswith(url) if nested else path == url})
    return {"links": links, "dev_outbox_enabled": context.get("dev_outbox_enabled")}
