"""Celery tasks for invoicing: thin wrappers over invoicing services, safe to run twice."""

import logging

from celery import shared_task

from core.tasks import partner_task
from invoicing.jobs import recurring_issue_due
from invoicing.models import Invoice
from invoicing.pdf import invoice_pdf_store

logger = logging.getLogger(__name__)


@shared_task
def issue_recurring() -> dict:
    """Beat, every minute: issue the recurring invoices whose period has come."""
    return dict(recurring_issue_due())


@partner_task
def store_invoice_pdf(*, partner_id: int, invoice_id: int) -> str:
    """After an invoice is issued or gets a new version: draw its current version's PDF and keep it, so
    downloads and emails serve the stored file. A version already stored is not drawn again."""
    invoice = Invoice.objects.select_related("partner", "customer").filter(pk=invoice_id).first()
    if invoice is None or invoice.is_draft:
        return "skipped"
    invoice_pdf_store(invoice=invoice)
    return "stored"
