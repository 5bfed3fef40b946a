"""Charging saved payment methods, exactly once: starting attempts (recording them is in `attempts`).

The rules that keep a customer from being charged twice, or an invoice from being marked paid for money
that never arrived:

1. An attempt is a row, committed with its idempotency key *before* the gateway is called.
2. At most one live attempt (pending, processing or unknown) per invoice: a database constraint.
3. The gateway is only ever asked again with the *same* key. An attempt whose worker died or timed out
   is resolved by the janitor (`payments.jobs.attempts_resolve_stale`), which looks the charge up by
   that key and, if the gateway never received it, sends the very same request again.
4. Outcomes are recorded under the invoice's row lock, and recording is idempotent: an attempt that
   already succeeded or failed stays as it is, whoever reports the outcome again (worker, janitor,
   webhook).

Lock order, everywhere: invoice, then attempt, then customer (credit).
"""

import datetime
from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from core import idempotency, money
from core.formats import format_day
from core.tasks import enqueue
from customers.models import PaymentMethod
from invoicing.models import EventKind, Invoice, InvoiceAction, PaymentOption
from invoicing.services import (
    invoice_event,
    invoice_lock,
    invoice_schedule_charge,
    invoice_stop_collection,
)
from partners.models import User
from payments import signals
from payments.models import (
    AttemptStatus,
    AttemptTrigger,
    PaymentAttempt,
)
from payments.selectors import invoice_live_attempt
from payments.services.applying import credit_apply


def live_attempt_error(invoice: Invoice) -> str | None:
    live = invoice_live_attempt(invoice=invoice)
    if live is None:
        return None
    if live.status == AttemptStatus.PROCESSING:
        return f"A bank payment of {money.format_money(live.amount, live.currency)} is still processing."
    return "A payment for this invoice is already in progress."


def method_to_charge(invoice: Invoice) -> PaymentMethod | None:
    """The invoice's chosen method if it is still saved, else the customer's default."""
    return methods_to_charge([invoice]).get(invoice.pk)


def methods_to_charge(invoices: list[Invoice]) -> dict[int, PaymentMethod]:
    """For each invoice, with one query: the chosen method if still saved, else the customer's default."""
    saved = defaultdict(list)
    for method in PaymentMethod.objects.filter(
        partner_id__in={invoice.partner_id for invoice in invoices},
        customer_id__in={invoice.customer_id for invoice in invoices},
        removed_at=None,
    ):
        saved[method.customer_id].append(method)
    chosen = {}
    for invoice in invoices:
        methods = saved[invoice.customer_id]
        method = next((m for m in methods if m.pk == invoice.payment_method_id), None)
        method = method or next((m for m in methods if m.is_default), None)
        if method is not None:
            chosen[invoice.pk] = method
    return chosen


def attempt_start(
    *,
    invoice: Invoice,
    method: PaymentMethod,
    trigger: AttemptTrigger,
    actor: User | None,
    amount: int | None = None,
    try_number: int = 1,
    idempotency_key: str | None = None,
) -> PaymentAttempt:
    """Create the attempt row for an invoice the caller has locked (in the caller's transaction).

    Raises ValidationError with a message for people when the charge can't be made.
    """
    attempt = attempt_build(
        invoice=invoice, method=method, trigger=trigger, actor=actor, amount=amount, try_number=try_number
    )
    if error := live_attempt_error(invoice):
        raise ValidationError(error)
    if idempotency_key is not None:
        attempt.idempotency_key = idempotency_key
    try:
        with transaction.atomic():
            attempt.save(force_insert=True)
    except IntegrityError:
        # The same form submitted twice (same key), or a live attempt that appeared meanwhile.
        raise ValidationError("This payment was already submitted.") from None
    invoice_event(invoice, EventKind.PAYMENT_ATTEMPTED, actor=actor, **attempt_event_fields(attempt))
    return attempt


def attempt_build(
    *,
    invoice: Invoice,
    method: PaymentMethod,
    trigger: AttemptTrigger,
    actor: User | None,
    amount: int | None = None,
    try_number: int = 1,
) -> PaymentAttempt:
    """The rules every attempt obeys (the live-attempt check aside), and its unsaved row."""
    if refusal := invoice.refusal(InvoiceAction.CHARGE):
        raise ValidationError(refusal)
    amount = invoice.amount_due if amount is None else amount
    if amount <= 0:
        raise ValidationError({"amount": "Enter an amount greater than zero."})
    if amount > invoice.amount_due:
        due = money.format_money(invoice.amount_due, invoice.currency)
        raise ValidationError({"amount": f"That is more than the {due} still due."})
    if method.customer_id != invoice.customer_id or method.removed_at is not None:
        raise ValidationError({"payment_method": "Choose one of the customer's saved payment methods."})
    return PaymentAttempt(
        partner_id=invoice.partner_id,
        invoice=invoice,
        customer_id=invoice.customer_id,
        payment_method=method,
        method_label=str(method),
        gateway=method.gateway,
        gateway_token=method.gateway_token,
        amount=amount,
        currency=invoice.currency,
        trigger=trigger,
        try_number=try_number,
        created_by=actor,
    )


def attempt_event_fields(attempt: PaymentAttempt) -> dict:
    formatted = money.format_money(attempt.amount, attempt.currency)
    label = AttemptTrigger(attempt.trigger).label
    return {
        "message": f"Charging {formatted} to {attempt.method_label} ({label})",
        "attempt_id": attempt.pk,
    }


@transaction.atomic
def charge_invoice(
    *,
    invoice: Invoice,
    method: PaymentMethod,
    trigger: AttemptTrigger,
    actor: User | None,
    amount: int | None = None,
    idempotency_key: str | None = None,
) -> PaymentAttempt:
    """Start a charge and hand it to a worker once committed (the janitor covers a lost hand-off). A
    repeat of the form's `idempotency_key` gets the attempt its first submit started, charged once."""
    invoice = invoice_lock(invoice)

    def start() -> PaymentAttempt:
        attempt = attempt_start(
            invoice=invoice,
            method=method,
            trigger=trigger,
            actor=actor,
            amount=amount,
            idempotency_key=idempotency_key,
        )
        _send_after_commit(attempt)
        return attempt

    return idempotency.once(PaymentAttempt, partner_id=invoice.partner_id, key=idempotency_key, create=start)


def _send_after_commit(attempt: PaymentAttempt) -> None:
    """A worker sends the committed attempt; if the hand-off is lost, the janitor sends it instead."""
    from payments.tasks import execute_attempt

    enqueue(execute_attempt, partner_id=attempt.partner_id, attempt_id=attempt.pk)


def collection_start(*, invoice: Invoice, actor: User | None) -> None:
    """Called when an invoice is issued: give it a pay link, use the customer's credit, then follow the
    payment option. The link's URL can only be known now; it rides on `invoice.fresh_pay_url` for the
    caller of this request (the finalize page shows it once), and is never stored."""
    from payments.portal.services import pay_link_issue

    signals.collection_started.send(sender=Invoice, invoice=invoice, actor=actor)
    invoice.fresh_pay_url = pay_link_issue(invoice=invoice)
    credit_apply(invoice=invoice, actor=actor)
    if invoice.amount_due == 0:
        return
    option = invoice.payment_option
    if option in (PaymentOption.CHARGE_NOW, PaymentOption.CHARGE_METHOD_ON_FILE):
        method = method_to_charge(invoice)
        if method is None:
            invoice_stop_collection(
                invoice=invoice, reason="No saved payment method to charge.", write_off=False
            )
            return
        attempt = attempt_start(invoice=invoice, method=method, trigger=AttemptTrigger(option), actor=actor)
        _send_after_commit(attempt)
    elif option == PaymentOption.CHARGE_ON_DUE_DATE:
        at = _local_midnight(invoice.due_date, invoice.partner.zone)
        invoice_schedule_charge(
            invoice=invoice,
            at=at,
            actor=actor,
            message=f"Will charge the default payment method on {format_day(invoice.due_date)}",
        )


def _local_midnight(day: datetime.date, zone) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(0), tzinfo=zone)
