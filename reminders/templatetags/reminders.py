"""The invoice page's "Emails" panel, drawn by reminders so invoicing's view needs no change."""

import datetime

from django import template
from django.utils import timezone

from reminders import selectors
from reminders.models import EmailStatus, NotificationKind

# Send on an invoice emailed within this long says so and asks before sending it again.
RECENTLY_EMAILED = datetime.timedelta(hours=1)
# An invoice's own Upcoming list: everything planned for it (its last reminder is weeks after the due date).
INVOICE_UPCOMING_DAYS = 400

register = template.Library()


def _recently_emailed(emails):
    since = timezone.now() - RECENTLY_EMAILED
    return next(
        (
            email
            for email in emails
            if email.kind == NotificationKind.INVOICE
            and email.status != EmailStatus.FAILED
            and email.created_at >= since
        ),
        None,
    )


@register.simple_tag
def invoice_emails(invoice):
    """{% invoice_emails invoice as emails %}: the invoice's emails, newest first, read once per page."""
    return list(selectors.invoice_emails(invoice=invoice)[:50]) if invoice.pk else []


@register.simple_tag
def invoice_plan(invoice):
    """{% invoice_plan invoice as plan %}: the emails and charge planned for the invoice, soonest first
    (a few at most, so not only the next 14 days the account's Upcoming page shows), and its skipped
    emails; read once per page."""
    if not invoice.pk:
        return selectors.InvoicePlan([], [])
    return selectors.invoice_plan(invoice=invoice, days=INVOICE_UPCOMING_DAYS)


@register.inclusion_tag("reminders/_invoice_send.html", takes_context=True)
def invoice_send_button(context, invoice, emails):
    """Send, saying when the invoice was last emailed (and asking first) if that was within the hour."""
    return {
        "invoice": invoice,
        "csrf_token": context.get("csrf_token"),
        "current_membership": context.get("current_membership"),
        "recently_emailed": _recently_emailed(emails),
    }


@register.inclusion_tag("reminders/_invoice_emails.html", takes_context=True)
def invoice_emails_panel(context, invoice, emails, plan):
    return {
        "invoice": invoice,
        "request": context.get("request"),
        "csrf_token": context.get("csrf_token"),
        "current_membership": context.get("current_membership"),
        "emails": emails,
        "notifications": plan.skipped,
        "upcoming": plan.upcoming,
    }
