"""Celery tasks for payments. Each takes primary keys, is safe to run twice and logs what it rejects."""

import datetime
import logging

from celery import shared_task
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist

from payments import collection, jobs, services
from payments.gateways import get_gateway
from payments.gateways.base import WebhookInvalid

logger = logging.getLogger(__name__)


@shared_task
def execute_attempt(*, attempt_id: int) -> str:
    if not isinstance(attempt_id, int):
        logger.error("execute_attempt rejected: attempt_id %r is not an integer", attempt_id)
        return "rejected"
    try:
        return collection.attempt_execute(attempt_id=attempt_id).status
    except ObjectDoesNotExist:
        logger.error("execute_attempt rejected: no payment attempt %s", attempt_id)
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


@shared_task
def email_pay_link(*, invoice_id: int) -> str:
    """A fresh pay link emailed to the customer's address on file (asked for on an expired link)."""
    from django_scopes import scopes_disabled

    from invoicing.models import Invoice
    from payments.portal.services import pay_link_email

    if not isinstance(invoice_id, int):
        logger.error("email_pay_link rejected: invoice_id %r is not an integer", invoice_id)
        return "rejected"
    with scopes_disabled():
        invoice = Invoice.objects.select_related("partner", "customer").filter(pk=invoice_id).first()
    if invoice is None:
        logger.error("email_pay_link rejected: no invoice %s", invoice_id)
        return "rejected"
    pay_link_email(invoice=invoice)
    return "sent"


@shared_task
def email_portal_sign_in(*, partner_id: int, email: str) -> str:
    """A magic sign-in link for the customer account portal, if `email` is a customer of the partner."""
    from django_scopes import scopes_disabled

    from partners.models import Partner
    from payments.portal.account.services import portal_sign_in_email

    if not isinstance(partner_id, int) or not isinstance(email, str) or len(email) > 254:
        logger.error("email_portal_sign_in rejected: bad arguments")
        return "rejected"
    with scopes_disabled():
        partner = Partner.objects.filter(pk=partner_id, is_active=True).first()
    if partner is None:
        logger.error("email_portal_sign_in rejected: no active partner %s", partner_id)
        return "rejected"
    return "sent" if portal_sign_in_email(partner=partner, email=email) else "no such customer"
