"""Celery tasks for email. Each takes primary keys, is safe to run twice and logs what it rejects."""

import logging

from celery import shared_task
from django.utils import timezone
from django_scopes import scopes_disabled

from reminders import schedule, services

logger = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=None)
def deliver_email(self, *, email_id: int) -> str:
    """Send one queued email; when sending fails, retried with backoff (1, 5, 15, 60, 240 minutes)."""
    if not isinstance(email_id, int):
        logger.error("deliver_email rejected: email_id %r is not an integer", email_id)
        return "rejected"
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


@shared_task
def replan_reminders(*, partner_id: int) -> int:
    """After the partner changed their reminder settings."""
    from partners.models import Partner

    with scopes_disabled():
        partner = Partner.objects.filter(pk=partner_id).first()
    if partner is None:
        logger.error("replan_reminders rejected: no partner %s", partner_id)
        return 0
    with scopes_disabled():
        return schedule.partner_replan(partner=partner)
