"""Charging saved payment methods, exactly once.

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
import logging
from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django_scopes import scopes_disabled

from core import money
from core.formats import format_day
from core.tasks import enqueue
from customers.models import Customer, PaymentMethod
from invoicing.models import EventKind, Invoice, InvoiceAction, InvoiceStatus, PaymentOption
from invoicing.services import (
    invoice_apply_credit,
    invoice_apply_payment,
    invoice_event,
    invoice_events_batched,
    invoice_lock,
    invoice_note_charge_outcome,
    invoice_schedule_charge,
    invoice_stop_collection,
    invoices_lock,
)
from partners.models import User
from payments import signals
from payments.gateways import get_gateway
from payments.gateways.base import Charge, ChargeStatus, GatewayError, GatewayUnavailable
from payments.models import (
    AUTOMATIC_TRIGGERS,
    AttemptStatus,
    AttemptTrigger,
    CreditKind,
    CustomerCredit,
    Payment,
    PaymentAttempt,
    PaymentMethodType,
)
from payments.selectors import invoice_live_attempt

logger = logging.getLogger(__name__)


# Customer credit ---------------------------------------------------------------------------------


def credit_balance(*, customer: Customer, currency: str) -> int:
    total = CustomerCredit.objects.filter(
        partner_id=customer.partner_id, customer=customer, currency=currency
    ).aggregate(total=Sum("amount"))["total"]
    return total or 0


def _credit_entry(*, invoice: Invoice, amount: int, kind: CreditKind, actor: User | None, payment=None):
    CustomerCredit.objects.create(
        partner_id=invoice.partner_id,
        customer_id=invoice.customer_id,
        currency=invoice.currency,
        amount=amount,
        kind=kind,
        invoice=invoice,
        payment=payment,
        created_by=actor,
    )


def credit_apply(*, invoice: Invoice, actor: User | None) -> int:
    """Settle what a newly issued invoice owes from the customer's credit in its currency."""
    Customer.objects.select_for_update().filter(pk=invoice.customer_id).first()  # serialises spending
    available = credit_balance(customer=invoice.customer, currency=invoice.currency)
    amount = min(available, invoice.amount_due)
    if amount <= 0:
        return 0
    _credit_entry(invoice=invoice, amount=-amount, kind=CreditKind.APPLIED, actor=actor)
    invoice_apply_credit(invoice=invoice, amount=amount, actor=actor)
    return amount


def credit_restore(*, invoice: Invoice, actor: User | None) -> None:
    """A voided invoice gives back the customer credit it used."""
    _credit_entry(invoice=invoice, amount=invoice.credit_applied, kind=CreditKind.RESTORED, actor=actor)
    formatted = money.format_money(invoice.credit_applied, invoice.currency)
    invoice_event(
        invoice, EventKind.CREDIT_ADDED, actor=actor, message=f"{formatted} returned to customer credit"
    )


# Receiving money -------------------------------------------------------------------------------------


def receive_money(
    *,
    invoice: Invoice,
    amount: int,
    method: PaymentMethodType,
    label: str,
    actor: User | None,
    received_on: datetime.date,
    reference: str = "",
    attempt: PaymentAttempt | None = None,
    charge_id: str = "",
) -> Payment:
    """Record money that arrived for a locked invoice. What the invoice no longer owes (it was paid
    some other way meanwhile) becomes customer credit: money is never silently dropped."""
    applied = 0 if invoice.refusal(InvoiceAction.TAKE_PAYMENT) else min(amount, invoice.amount_due)
    payment = Payment.objects.create(
        partner_id=invoice.partner_id,
        invoice=invoice,
        customer_id=invoice.customer_id,
        amount=amount,
        credited_amount=amount - applied,
        currency=invoice.currency,
        method=method,
        reference=reference,
        received_on=received_on,
        recorded_by=actor,
        attempt=attempt,
        gateway_charge_id=charge_id,
    )
    if applied:
        invoice_apply_payment(
            invoice=invoice, amount=applied, actor=actor, message=label, payment_id=payment.pk
        )
        signals.payment_received(invoice=invoice, payment_id=payment.pk)
    if amount > applied:
        excess = amount - applied
        _credit_entry(
            invoice=invoice, amount=excess, kind=CreditKind.OVERPAYMENT, actor=actor, payment=payment
        )
        formatted = money.format_money(excess, invoice.currency)
        invoice_event(
            invoice,
            EventKind.CREDIT_ADDED,
            actor=actor,
            message=f"{formatted} more than was due ({label}) kept as customer credit",
        )
    return payment


# Starting attempts -----------------------------------------------------------------------------------


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
    """Start a charge and hand it to a worker once committed (the janitor covers a lost hand-off)."""
    invoice = invoice_lock(invoice)
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


# Executing and recording -----------------------------------------------------------------------------

# What the gateway said to a charge request: the charge, or why there is none (GatewayUnavailable: we
# don't know whether it charged; any other GatewayError: it refused the request, nothing moved).
Outcome = Charge | GatewayError


def attempt_execute(*, attempt_id: int) -> PaymentAttempt:
    """Send a pending (or unknown) attempt to the gateway and record what it says. Safe to run any
    number of times, concurrently too: the gateway sees one idempotency key."""
    with scopes_disabled():  # also called by the janitor, which works across partners
        attempt = PaymentAttempt.objects.select_related("invoice").get(pk=attempt_id)
    if attempt.status not in (AttemptStatus.PENDING, AttemptStatus.UNKNOWN):
        return attempt
    return attempt_send(attempt)


def attempt_send(attempt: PaymentAttempt) -> PaymentAttempt:
    """Call the gateway with the attempt's committed key, then record the outcome under locks (which
    re-read the attempt: whoever recorded first wins, the rest change nothing)."""
    return _record_one(attempt, attempt_call(attempt))


def attempt_call(attempt: PaymentAttempt) -> Outcome:
    """Ask the gateway to charge a committed attempt, with its key. Records nothing."""
    try:
        return get_gateway().charge(
            token=attempt.gateway_token,
            amount=attempt.amount,
            currency=attempt.currency,
            idempotency_key=attempt.idempotency_key,
            description=f"Invoice {attempt.invoice.number}",
        )
    except GatewayUnavailable as error:
        logger.warning(
            "Payment attempt %s: no answer from the gateway (%s); the janitor will ask", attempt.pk, error
        )
        return error
    except GatewayError as error:
        logger.error("Payment attempt %s refused by the gateway: %s", attempt.pk, error)
        return error


def attempts_record(outcomes: list[tuple[PaymentAttempt, Outcome]]) -> None:
    """Record a batch's gateway answers in one transaction: the invoices are locked together (in id
    order, then their attempts), and each outcome is applied exactly as `attempt_record` would.

    If anything in the batch goes wrong the whole transaction rolls back and each outcome is recorded
    on its own, so one odd invoice costs the batch its speed, never its correctness."""
    try:
        # a batch of the due-date job: any partners
        with transaction.atomic(), scopes_disabled(), invoice_events_batched(), signals.receipts_batched():
            invoices = invoices_lock(invoice_ids=[attempt.invoice_id for attempt, _ in outcomes])
            attempts = (
                PaymentAttempt.objects.select_for_update(of=("self",))
                .select_related("payment_method")
                .order_by("pk")
                .in_bulk([attempt.pk for attempt, _ in outcomes])
            )
            for attempt, outcome in outcomes:
                _apply(invoices[attempt.invoice_id], attempts[attempt.pk], outcome)
    except Exception:
        logger.exception("Recording %d charges together failed; recording them one by one", len(outcomes))
        for attempt, outcome in outcomes:
            try:
                _record_one(attempt, outcome)
            except Exception:  # left pending or unknown: the janitor resolves it by its key
                logger.exception("Payment attempt %s could not be recorded", attempt.pk)


@transaction.atomic
def _record_one(attempt: PaymentAttempt, outcome: Outcome) -> PaymentAttempt:
    with scopes_disabled():  # the worker's, the janitor's or a webhook's
        invoice, locked = _locked(attempt.pk, attempt.invoice_id)
        _apply(invoice, locked, outcome)
        return locked


def _apply(invoice: Invoice, attempt: PaymentAttempt, outcome: Outcome) -> None:
    if isinstance(outcome, Charge):
        _apply_charge(invoice, attempt, outcome)
    elif isinstance(outcome, GatewayUnavailable):
        _apply_unknown(attempt, str(outcome))
    else:
        _apply_refusal(invoice, attempt, str(outcome))


def _locked(attempt_id: int, invoice_id: int | None = None) -> tuple[Invoice, PaymentAttempt]:
    if invoice_id is None:
        invoice_id = PaymentAttempt.objects.filter(pk=attempt_id).values_list("invoice_id", flat=True).get()
    invoice = invoice_lock(Invoice(pk=invoice_id))
    attempt = (
        PaymentAttempt.objects.select_for_update(of=("self",))
        .select_related("payment_method")
        .get(pk=attempt_id, invoice_id=invoice_id)
    )
    return invoice, attempt


def _apply_unknown(attempt: PaymentAttempt, reason: str) -> None:
    if attempt.status == AttemptStatus.PENDING:
        attempt.status = AttemptStatus.UNKNOWN
        attempt.failure_message = reason[:300]
        attempt.save(update_fields=["status", "failure_message"])


@transaction.atomic
def attempt_record(*, attempt_id: int, charge: Charge, invoice_id: int | None = None) -> PaymentAttempt:
    """Apply what the gateway says about an attempt's charge. Idempotent. `invoice_id`, when the
    caller knows the attempt's invoice, saves looking it up."""
    with scopes_disabled():  # the worker's, the janitor's or a webhook's
        invoice, attempt = _locked(attempt_id, invoice_id)
        _apply_charge(invoice, attempt, charge)
        return attempt


def _apply_charge(invoice: Invoice, attempt: PaymentAttempt, charge: Charge) -> None:
    """The outcome of a charge, for a locked invoice and attempt."""
    if attempt.status in (AttemptStatus.SUCCEEDED, AttemptStatus.FAILED):
        return
    if charge.idempotency_key != attempt.idempotency_key:
        raise ValueError(f"Charge {charge.id} does not belong to attempt {attempt.pk}")
    attempt.gateway_charge_id = charge.id
    if charge.status == ChargeStatus.PROCESSING:
        if attempt.status != AttemptStatus.PROCESSING:
            attempt.status = AttemptStatus.PROCESSING
            attempt.save(update_fields=["status", "gateway_charge_id"])
            invoice_event(
                invoice,
                EventKind.PAYMENT_PROCESSING,
                actor=None,
                message=f"{attempt.method_label}: bank payment processing",
                attempt_id=attempt.pk,
            )
        return
    attempt.completed_at = timezone.now()
    if charge.status == ChargeStatus.SUCCEEDED:
        attempt.status = AttemptStatus.SUCCEEDED
        attempt.save(update_fields=["status", "gateway_charge_id", "completed_at"])
        invoice_note_charge_outcome(invoice=invoice, failed=False)
        kind = PaymentMethodType.CARD if _is_card(attempt) else PaymentMethodType.BANK_DEBIT
        receive_money(
            invoice=invoice,
            amount=attempt.amount,
            method=kind,
            label=f"{attempt.method_label}, {money.format_money(attempt.amount, attempt.currency)}",
            actor=None,
            received_on=invoice.partner.today(),
            attempt=attempt,
            charge_id=charge.id,
        )
        return
    _fail(
        invoice,
        attempt,
        code=charge.decline_code,
        message=charge.message or "Declined.",
        hard=charge.hard_decline,
    )


def _is_card(attempt: PaymentAttempt) -> bool:
    """Methods are only ever soft-removed, so the attempt's method is there; cards are the default."""
    method = attempt.payment_method
    return method is None or method.is_card


@transaction.atomic
def attempt_record_refusal(*, attempt_id: int, message: str) -> PaymentAttempt:
    """The gateway refused the request itself (unknown token, bad parameters): nothing was charged."""
    with scopes_disabled():  # the worker's or the janitor's
        invoice, attempt = _locked(attempt_id)
        _apply_refusal(invoice, attempt, message)
        return attempt


def _apply_refusal(invoice: Invoice, attempt: PaymentAttempt, message: str) -> None:
    if attempt.status in (AttemptStatus.PENDING, AttemptStatus.UNKNOWN):
        attempt.completed_at = timezone.now()
        _fail(invoice, attempt, code="gateway_error", message=message[:300], hard=True)


def _fail(invoice: Invoice, attempt: PaymentAttempt, *, code: str, message: str, hard: bool) -> None:
    attempt.status = AttemptStatus.FAILED
    attempt.decline_code, attempt.failure_message, attempt.hard_decline = code, message, hard
    attempt.save(
        update_fields=[
            "status",
            "gateway_charge_id",
            "completed_at",
            "decline_code",
            "failure_message",
            "hard_decline",
        ]
    )
    invoice_event(
        invoice,
        EventKind.PAYMENT_FAILED,
        actor=None,
        message=f"{attempt.method_label}: {message}",
        attempt_id=attempt.pk,
        decline_code=code,
    )
    invoice_note_charge_outcome(invoice=invoice, failed=True)
    signals.charge_failed.send(sender=PaymentAttempt, invoice=invoice, attempt_id=attempt.pk)
    if (
        attempt.trigger in AUTOMATIC_TRIGGERS
        and invoice.status == InvoiceStatus.OPEN
        and invoice.amount_due > 0
    ):
        _schedule_retry(invoice, attempt)


def _schedule_retry(invoice: Invoice, attempt: PaymentAttempt) -> None:
    """Soft declines are retried `partner.charge_retry_days` after the first try; hard ones never."""
    partner = invoice.partner
    retry_days = sorted(partner.charge_retry_days or [])
    if attempt.hard_decline:
        invoice_stop_collection(
            invoice=invoice,
            reason=f"{attempt.method_label} can't be charged again ({attempt.failure_message}). "
            "Ask the customer for another payment method.",
            write_off=False,
        )
        return
    if attempt.try_number > len(retry_days):
        tries = attempt.try_number
        invoice_stop_collection(
            invoice=invoice,
            reason=f"Gave up after {tries} tr{'y' if tries == 1 else 'ies'}.",
            write_off=partner.mark_uncollectible_after_retries,
        )
        return
    first = (
        PaymentAttempt.objects.filter(invoice=invoice, trigger__in=AUTOMATIC_TRIGGERS, try_number=1)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    ) or attempt.created_at
    day = first.astimezone(partner.zone).date() + datetime.timedelta(days=retry_days[attempt.try_number - 1])
    invoice_schedule_charge(
        invoice=invoice,
        at=_local_midnight(day, partner.zone),
        message=f"Retry {attempt.try_number} of {len(retry_days)} on {format_day(day)}",
    )
