"""Celery tasks for email. Each takes primary keys, is safe to run twice and logs what it rejects."""

import logging

from celery import shared_task
from django.utils import timezone

from core.tasks import partner_task
from invoicing.models import Invoice
from partners.models import Partner
from reminders import link_emails, schedule, services

logger = logging.getLogger(__name__)


@partner_task(bind=True, max_retries=None)
def deliver_email(self, *, partner_id: int, email_id: int) -> str:
    """Send one queued email; when sending fails, retried with backoff (1, 5, 15, 60, 240 minutes)."""
    retry_in = services.email_deliver(email_id=email_id)
    if retry_in is not None:
        raise self.retry(countdown=retry_in)
    return "done"


@shared_task
def send_due_notifications() -> int:
    """Beat, every minute: send or skip the reminders whose time has come; resend lost emails."""
    decided = schedule.notifications_send_due()
    services.emails_sweep(now=timezone.now())
    return decided


@partner_task
def replan_reminders(*, partner_id: int) -> int:
    """After the partner changed their reminder settings."""
    partner = Partner.objects.filter(pk=partner_id).first()
    if partner is None:
        logger.error("replan_reminders rejected: no partner %s", partner_id)
        return 0
    return schedule.partner_replan(partner=partner)


@partner_task
def email_pay_link(*, partner_id: int, invoice_id: int) -> str:
    """A fresh pay link emailed to the customer's address on file (asked for on an expired link)."""
    invoice = Invoice.objects.select_related("partner", "customer").filter(pk=invoice_id).first()
    if invoice is None:
        logger.error("email_pay_link rejected: no invoice %s at partner %s", invoice_id, partner_id)
        return "rejected"
    link_emails.pay_link_email(invoice=invoice)
    return "sent"


@partner_task
def email_portal_sign_in(*, partner_id: int, email: str) -> str:
    """A magic sign-in link for the customer account portal, if `email` is a customer of the partner."""
    if not isinstance(email, str) or len(email) > 254:
        logger.error("email_portal_sign_in rejected: bad email")
        return "rejected"
    partner = Partner.objects.filter(pk=partner_id, is_active=True).first()
    if partner is None:
        logger.error("email_portal_sign_in rejected: no active partner %s", partner_id)
        return "rejected"
    return "sent" if link_emails.portal_sign_in_email(partner=partner, email=email) else "no such customer"
