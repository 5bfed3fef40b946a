"""Thin Celery wrappers over api.webhooks.delivery and api.services; safe to run twice."""

from celery import shared_task
from django.utils import timezone

from api.services import idempotent_requests_forget
from api.webhooks.delivery import webhook_deliver, webhooks_deliver_due
from api.webhooks.overdue import overdue_invoices_announce
from core.tasks import partner_task


@partner_task
def deliver_webhook(*, partner_id: int, delivery_id: int) -> str:
    return webhook_deliver(delivery_id=delivery_id)


@shared_task
def deliver_due_webhooks() -> int:
    return webhooks_deliver_due(now=timezone.now())


@shared_task
def announce_overdue_invoices() -> int:
    return overdue_invoices_announce()


@shared_task
def forget_idempotent_requests() -> int:
    return idempotent_requests_forget(now=timezone.now())
