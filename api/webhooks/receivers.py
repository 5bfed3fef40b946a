"""The webhook events that follow what the lower layers announce (their signals.py), connected in
ApiConfig.ready. Each receiver runs inside the change's transaction and only writes rows."""

from api.schemas import CustomerOut, InvoiceOut, PaymentOut, RefundOut
from api.serializers import invoice_data
from api.webhooks.events import event_record, schema_json
from customers import signals as customer_signals
from invoicing import signals as invoice_signals
from payments import signals as payment_signals
from payments.models import Payment
from reminders import signals as reminder_signals


def invoice_event(type: str, invoice) -> None:
    event_record(
        partner_id=invoice.partner_id,
        type=type,
        object_id=invoice.pk,
        data=schema_json(InvoiceOut, invoice_data(invoice)),
    )


def _customer(type: str):
    def receive(sender, *, customer, **kwargs) -> None:
        event_record(
            partner_id=customer.partner_id,
            type=type,
            object_id=customer.pk,
            data=schema_json(CustomerOut, customer),
        )

    return receive


def _invoice(type: str):
    def receive(sender, *, invoice, **kwargs) -> None:
        invoice_event(type, invoice)

    return receive


def payments_received(sender, *, receipts, **kwargs) -> None:
    payments = Payment.objects.in_bulk([payment_id for _, payment_id in receipts])
    for invoice, payment_id in receipts:
        payment = payments[payment_id]
        event_record(
            partner_id=invoice.partner_id,
            type="payment.succeeded",
            object_id=payment.pk,
            data=schema_json(PaymentOut, payment),
        )
        if not invoice.is_paid:
            invoice_event("invoice.partially_paid", invoice)


def charge_failed(sender, *, invoice, attempt_id, **kwargs) -> None:
    invoice_event("invoice.payment_failed", invoice)
    event_record(
        partner_id=invoice.partner_id,
        type="payment.failed",
        object_id=attempt_id,
        data={"attempt_id": attempt_id, "invoice": schema_json(InvoiceOut, invoice_data(invoice))},
    )


def refund_succeeded(sender, *, refund, invoice, **kwargs) -> None:
    event_record(
        partner_id=refund.partner_id,
        type="payment.refunded",
        object_id=refund.pk,
        data=schema_json(RefundOut, refund),
    )


def payment_disputed(sender, *, dispute, invoice, **kwargs) -> None:
    event_record(
        partner_id=dispute.partner_id,
        type="payment.disputed",
        object_id=dispute.payment_id,
        data={
            "payment": schema_json(PaymentOut, dispute.payment),
            "dispute": {
                "status": dispute.status,
                "amount": dispute.amount,
                "amount_withdrawn": dispute.amount_withdrawn,
                "currency": dispute.currency,
                "reason": dispute.reason,
                "evidence_due_by": dispute.evidence_due_by.isoformat() if dispute.evidence_due_by else None,
            },
        },
    )


def recurring_invoice_issued(sender, *, invoice, schedule, **kwargs) -> None:
    event_record(
        partner_id=invoice.partner_id,
        type="recurring_invoice.issued",
        object_id=invoice.pk,
        data={"recurring_payment_id": schedule.pk, "invoice": schema_json(InvoiceOut, invoice_data(invoice))},
    )


SIGNALS = [
    (customer_signals.customer_created, _customer("customer.created")),
    (customer_signals.customer_updated, _customer("customer.updated")),
    (invoice_signals.invoice_created, _invoice("invoice.created")),
    (invoice_signals.invoice_issued, _invoice("invoice.issued")),
    (invoice_signals.invoice_paid, _invoice("invoice.paid")),
    (invoice_signals.invoice_voided, _invoice("invoice.voided")),
    (invoice_signals.invoice_marked_uncollectible, _invoice("invoice.marked_uncollectible")),
    (invoice_signals.recurring_invoice_issued, recurring_invoice_issued),
    (reminder_signals.invoice_sent, _invoice("invoice.sent")),
    (payment_signals.payments_received, payments_received),
    (payment_signals.charge_failed, charge_failed),
    (payment_signals.refund_succeeded, refund_succeeded),
    (payment_signals.payment_disputed, payment_disputed),
]


def connect() -> None:
    for signal, receiver in SIGNALS:
        signal.connect(receiver, dispatch_uid=f"api.webhooks.{id(signal)}", weak=False)
