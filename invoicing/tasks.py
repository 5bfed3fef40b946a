"""Celery tasks for invoicing: thin wrappers over invoicing services, safe to run twice."""

from celery import shared_task

from invoicing.jobs import recurring_issue_due


@shared_task
def issue_recurring() -> dict:
    """Beat, every minute: issue the recurring invoices whose period has come."""
    return dict(recurring_issue_due())
