"""invoice.overdue: nothing happens to an invoice when its due date passes, so an hourly job finds the
open invoices past their due date (in the partner's time zone) that have not been announced yet, for
partners with an endpoint that subscribes to it."""

from django.db import transaction
from django.db.models import Exists, OuterRef
from django_scopes import scope, scopes_disabled

from api.models import WebhookEndpoint, WebhookEvent
from api.webhooks.receivers import invoice_event
from invoicing.models import Invoice, InvoiceStatus
from partners.models import Partner

BATCH = 500


def overdue_invoices_announce() -> int:
    with scopes_disabled():
        partner_ids = set(
            WebhookEndpoint.objects.filter(
                disabled_at=None, event_types__contains=["invoice.overdue"]
            ).values_list("partner_id", flat=True)
        )
    announced = 0
    for partner_id in sorted(partner_ids):
        with scope(partner=partner_id):
            announced += _announce(partner_id)
    return announced


def _announce(partner_id: int) -> int:
    partner = Partner.objects.get(pk=partner_id)
    seen = WebhookEvent.objects.filter(
        partner_id=partner_id, type="invoice.overdue", object_id=OuterRef("pk")
    )
    invoices = (
        Invoice.objects.filter(partner=partner, status=InvoiceStatus.OPEN, due_date__lt=partner.today())
        .exclude(Exists(seen))
        .select_related("partner")
        .order_by("due_date", "id")[:BATCH]
    )
    count = 0
    with transaction.atomic():
        for invoice in invoices:
            invoice_event("invoice.overdue", invoice)
            count += 1
    return count
