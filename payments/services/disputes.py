"""Disputes (chargebacks): what the processor says of a disputed payment, applied to its invoice."""

import logging

from django.db import transaction
from django.utils import timezone
from django_scopes import scopes_disabled

from core import money
from invoicing.models import EventKind
from invoicing.services import invoice_apply_dispute_loss, invoice_event, invoice_lock
from payments import signals
from payments.gateways.base import Dispute as GatewayDispute
from payments.models import Dispute, DisputeStatus, Payment

logger = logging.getLogger(__name__)


def dispute_record(*, payment: Payment, gateway: str, dispute: GatewayDispute) -> Dispute:
    """Bring our copy of a dispute up to what the processor says now (the caller re-read it), under
    the invoice's lock: opening alerts the partner (payments.signals.payment_disputed), a won dispute
    only closes, a lost one writes the money lost off the invoice (invoicing's credit note), once."""
    with transaction.atomic(), scopes_disabled():  # a processor's webhook: the payment names the partner
        invoice = invoice_lock(payment.invoice)
        row = (
            Dispute.objects.select_for_update().filter(gateway=gateway, gateway_dispute_id=dispute.id).first()
        )
        opened = row is None
        if opened:
            row = Dispute(
                partner_id=payment.partner_id,
                payment=payment,
                invoice=invoice,
                gateway=gateway,
                gateway_dispute_id=dispute.id,
                currency=payment.currency,
            )
        was_closed = not opened and row.is_closed
        row.status = DisputeStatus(dispute.status.value)
        row.amount, row.reason, row.evidence_due_by = (
            dispute.amount,
            dispute.reason[:100],
            dispute.evidence_due_by,
        )
        row.amount_withdrawn, row.amount_reinstated = dispute.amount_withdrawn, dispute.amount_reinstated
        if row.is_closed and not was_closed:
            row.closed_at = timezone.now()
        row.save()
        formatted = money.format_money(row.amount_withdrawn or row.amount, row.currency)
        if opened:
            due = f", respond by {row.evidence_due_by:%Y-%m-%d}" if row.evidence_due_by else ""
            invoice_event(
                invoice,
                EventKind.DISPUTE,
                actor=None,
                actor_label="Stripe" if gateway == "stripe" else "System",
                message=f"The customer disputed a payment ({row.reason or 'no reason given'}): "
                f"{formatted} withdrawn{due}",
            )
            signals.payment_disputed.send(sender=Dispute, dispute=row, invoice=invoice)
        if row.is_closed and not was_closed:
            _close(row, invoice)
        return row


def _close(row: Dispute, invoice) -> None:
    if row.status == DisputeStatus.WON:
        back = money.format_money(row.amount_reinstated, row.currency)
        invoice_event(invoice, EventKind.DISPUTE, actor=None, message=f"Dispute won: {back} reinstated")
        return
    lost = max(row.amount_withdrawn - row.amount_reinstated, 0) or row.amount
    before = invoice.amount_paid
    invoice_apply_dispute_loss(invoice=invoice, amount=lost, actor=None, reason=row.reason)
    row.amount_lost = before - invoice.amount_paid
    row.save(update_fields=["amount_lost", "updated_at"])
