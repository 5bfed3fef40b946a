"""Executing payment attempts and recording what the gateway said, under the invoice's row lock."""

import datetime
import logging

from django.db import transaction
from django.utils import timezone
from django_scopes import scopes_disabled

from core import money
from core.formats import format_day
from invoicing.models import EventKind, Invoice, InvoiceStatus
from invoicing.services import (
    invoice_event,
    invoice_events_batched,
    invoice_lock,
    invoice_schedule_charge,
    invoice_stop_collection,
    invoices_lock,
)
from payments import signals
from payments.gateways import get_gateway
from payments.gateways.base import Charge, ChargeStatus, GatewayError, GatewayUnavailable
from payments.models import (
    AUTOMATIC_TRIGGERS,
    AttemptStatus,
    PaymentAttempt,
    PaymentMethodType,
)
from payments.services.applying import receive_money
from payments.services.charging import _local_midnight

logger = logging.getLogger(__name__)

# An off-session charge the customer's bank wants authenticated (3-D Secure, SCA): not a decline, and
# never retried blindly; the failure email's pay link lets the customer pay on the page, authenticating.
AUTHENTICATION_REQUIRED = "authentication_required"
AUTHENTICATION_MESSAGE = "The bank asks the customer to confirm this payment (3-D Secure)."
WAITING_FOR_THE_CUSTOMER = (
    "Waiting for the customer: their bank asks them to confirm the payment. They were emailed a link to "
    "pay and authenticate it."
)


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
        return get_gateway(attempt.partner_id, processor=attempt.gateway).charge(
            token=attempt.gateway_token,
            amount=attempt.amount,
            currency=attempt.currency,
            idempotency_key=attempt.idempotency_key,
            description=f"Invoice {attempt.invoice.number}",
            metadata={
                "attempt": str(attempt.pk),
                "invoice": attempt.invoice.number,
                "partner": str(attempt.partner_id),
            },
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
            processor_fee=charge.fee,
        )
        return
    if charge.status == ChargeStatus.REQUIRES_ACTION:  # not a decline: the customer must authenticate
        _fail(invoice, attempt, code=AUTHENTICATION_REQUIRED, message=AUTHENTICATION_MESSAGE, hard=False)
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
    signals.charge_failed.send(sender=PaymentAttempt, invoice=invoice, attempt_id=attempt.pk)
    if (
        attempt.trigger in AUTOMATIC_TRIGGERS
        and invoice.status == InvoiceStatus.OPEN
        and invoice.amount_due > 0
    ):
        _schedule_retry(invoice, attempt)


def _schedule_retry(invoice: Invoice, attempt: PaymentAttempt) -> None:
    """Soft declines are retried `partner.charge_retry_days` after the first try; hard ones never, nor
    a charge the bank wants the customer to authenticate (they were emailed a pay link that does)."""
    partner = invoice.partner
    retry_days = sorted(partner.charge_retry_days or [])
    if attempt.decline_code == AUTHENTICATION_REQUIRED:
        invoice_stop_collection(invoice=invoice, reason=WAITING_FOR_THE_CUSTOMER, write_off=False)
        return
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
