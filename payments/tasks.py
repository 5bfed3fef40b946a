"""Celery tasks for payments. Each takes primary keys, is safe to run twice and logs what it rejects."""

import datetime
import logging

from celery import shared_task
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist

from core.tasks import partner_task
from payments import jobs, services
from payments.gateways import get_gateway
from payments.gateways.base import WebhookInvalid

logger = logging.getLogger(__name__)


@partner_task
def execute_attempt(*, partner_id: int, attempt_id: int) -> str:
    try:
        return services.attempt_execute(attempt_id=attempt_id).status
    except ObjectDoesNotExist:
        logger.error("execute_attempt rejected: no payment attempt %s at partner %s", attempt_id, partner_id)
        return "rejected"


@shared_task
def charge_due_invoices() -> int:
    """Beat, every minute: charge what is due (Charge on due date, retries)."""
    return jobs.charge_due_invoices()


@shared_task
def resolve_stale_payments() -> int:
    """Beat, every minute: the janitor for attempts and refunds whose outcome is unknown."""
    stale = datetime.timedelta(seconds=settings.PAYMENT_ATTEMPT_STALE_SECONDS)
    return jobs.attempts_resolve_stale() + services.refunds_resolve_stale(older_than=stale)


@shared_task
def sandbox_clock() -> int:
    """Beat: the sandbox settles bank debits and delivers their webhooks, as a processor would."""
    gateway = get_gateway()
    if not hasattr(gateway, "advance"):
        return 0
    delivered = 0
    for event_id, body, headers in gateway.advance():
        try:
            services.webhook_receive(body=body, headers=headers)
        except WebhookInvalid:
            logger.exception("The sandbox signed a webhook we reject; check SANDBOX_WEBHOOK_SECRET")
            continue
        gateway.mark_delivered(event_id)
        delivered += 1
    return delivered
