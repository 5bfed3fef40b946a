"""The invoice page's "Emails" panel, drawn by reminders so invoicing's view needs no change."""

from django import template

from reminders import selectors

register = template.Library()


@register.inclusion_tag("reminders/_invoice_emails.html", takes_context=True)
def invoice_emails_panel(context, invoice):
    plan = selectors.invoice_plan(invoice=invoice) if invoice.pk else selectors.InvoicePlan([], [])
    return {
        "invoice": invoice,
        "request": context.get("request"),
        "csrf_token": context.get("csrf_token"),
        "current_membership": context.get("current_membership"),
        "emails": list(selectors.invoice_emails(invoice=invoice)[:50]),
        "notifications": plan.skipped,
        "upcoming": plan.upcoming,
    }
