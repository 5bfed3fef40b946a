"""The payment jobs beat runs every minute: charging what is due (Charge on due date and retries) and
the janitor that resolves attempts whose outcome is unknown. They follow the rules in
payments.services; these functions only find the work and hand it over in batches."""

import datetime
import logging
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connections, transaction
from django.utils import timezone
from django_scopes import scopes_disabled

from invoicing.models import EventKind, Invoice, InvoiceStatus
from invoicing.services import (
    invoice_event,
    invoice_events_batched,
    invoice_schedule_charge,
    invoice_stop_collection,
    invoices_unschedule_charge,
)
from payments.gateways import get_gateway
from payments.gateways.base import GatewayError
from payments.models import (
    AUTOMATIC_TRIGGERS,
    LIVE_ATTEMPT_STATUSES,
    AttemptStatus,
    AttemptTrigger,
    PaymentAttempt,
    ProcessorAccount,
)
from payments.services import (
    Outcome,
    attempt_build,
    attempt_call,
    attempt_event_fields,
    attempt_execute,
    attempt_record,
    attempts_record,
    methods_to_charge,
)

logger = logging.getLogger(__name__)

# When the due-date job finds an invoice already being charged, it looks at it again this much later.
LIVE_ATTEMPT_RECHECK = datetime.timedelta(hours=1)
# How long a bank debit may stay "processing" before the janitor re-reads it (webhooks may be lost).
PROCESSING_RECHECK = datetime.timedelta(hours=1)


# The due-date job ------------------------------------------------------------------------------------


def charge_due_invoices(*, now: datetime.datetime | None = None, batch: int | None = None) -> int:
    """Charge every open invoice whose `next_charge_at` has come; returns how many attempts it made.

    Any number of these may run at once (beat overlapping itself, several workers): each claims its
    own invoices with SELECT ... FOR UPDATE SKIP LOCKED and commits the attempts before charging.
    """
    batch = batch or settings.PAYMENT_CHARGE_BATCH
    made = 0
    while attempts := _claim_due(now or timezone.now(), batch):
        _execute_many(attempts)
        made += len(attempts)
    return made


@transaction.atomic
def _claim_due(now: datetime.datetime, batch: int) -> list[PaymentAttempt]:
    """Lock a batch of due invoices, unschedule them and commit one attempt each. The checks are the
    ones attempt_start makes, done for the whole batch with a few queries rather than per invoice
    (the timeline lines, too, are inserted together)."""
    with scopes_disabled(), invoice_events_batched():  # a beat job: every partner's due invoices
        paused = ProcessorAccount.objects.exclude(charging_paused_reason="").values("partner_id")
        invoices = list(
            Invoice.objects.filter(status=InvoiceStatus.OPEN, next_charge_at__lte=now)
            .exclude(partner_id__in=paused)  # its processor can't charge now: they wait, still due
            .select_related("partner", "customer")
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("next_charge_at")[:batch]
        )
        if not invoices:
            return []
        ids = [invoice.pk for invoice in invoices]
        invoices_unschedule_charge(invoice_ids=ids)
        live = set(
            PaymentAttempt.objects.filter(invoice_id__in=ids, status__in=LIVE_ATTEMPT_STATUSES).values_list(
                "invoice_id", flat=True
            )
        )
        previous = {
            row["invoice_id"]: row
            for row in PaymentAttempt.objects.filter(invoice_id__in=ids, trigger__in=AUTOMATIC_TRIGGERS)
            .order_by("invoice_id", "-created_at", "-id")
            .distinct("invoice_id")
            .values("invoice_id", "status", "try_number")
        }
        methods = methods_to_charge(invoices)
        attempts = []
        for invoice in invoices:
            if invoice.pk in live:
                # Someone is charging it right now (the partner, the customer): look again later,
                # so the due-date charge still happens if that attempt fails or pays only part.
                invoice_schedule_charge(invoice=invoice, at=now + LIVE_ATTEMPT_RECHECK)
                continue
            method = methods.get(invoice.pk)
            last = previous.get(invoice.pk)
            retrying = last is not None and last["status"] == AttemptStatus.FAILED
            try:
                if method is None:
                    raise ValidationError("No saved payment method to charge.")
                attempts.append(
                    attempt_build(
                        invoice=invoice,
                        method=method,
                        trigger=AttemptTrigger.RETRY if retrying else AttemptTrigger.CHARGE_ON_DUE_DATE,
                        try_number=last["try_number"] + 1 if retrying else 1,
                        actor=None,
                    )
                )
            except ValidationError as error:
                invoice_stop_collection(invoice=invoice, reason=" ".join(error.messages), write_off=False)
        # The invoices are locked and had no live attempt: the one-live-attempt constraint holds.
        PaymentAttempt.objects.bulk_create(attempts)
        for attempt in attempts:
            fields = attempt_event_fields(attempt)
            invoice_event(attempt.invoice, EventKind.PAYMENT_ATTEMPTED, actor=None, **fields)
        return attempts


def _execute_many(attempts: list[PaymentAttempt]) -> None:
    """Charge a claimed batch, several gateway calls at a time (they mostly wait on the network),
    then record all the outcomes in one transaction."""
    workers = min(settings.PAYMENT_CHARGE_CONCURRENCY, len(attempts))
    if workers <= 1:
        outcomes = [_call_logged(attempt) for attempt in attempts]
    else:
        chunks = [attempts[i::workers] for i in range(workers)]
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="charge") as pool:
            answered = dict(pair for chunk in pool.map(_call_chunk, chunks) for pair in chunk)
        outcomes = [answered[attempt.pk] for attempt in attempts]
    attempts_record(
        [
            (attempt, outcome)
            for attempt, outcome in zip(attempts, outcomes, strict=True)
            if outcome is not None
        ]
    )


def _call_chunk(attempts: list[PaymentAttempt]) -> list[tuple[int, Outcome | None]]:
    try:
        return [(attempt.pk, _call_logged(attempt)) for attempt in attempts]
    finally:
        connections.close_all()  # this thread's own connections (the sandbox keeps its books in the DB)


def _call_logged(attempt: PaymentAttempt) -> Outcome | None:
    try:
        return attempt_call(attempt)
    except Exception:  # one bad attempt must not stop the batch; the janitor retries it by key
        logger.exception("Payment attempt %s could not be executed", attempt.pk)
        return None


# The janitor -----------------------------------------------------------------------------------------


def attempts_resolve_stale(
    *,
    now: datetime.datetime | None = None,
    limit: int = 500,
    older_than: datetime.timedelta | None = None,
) -> int:
    """Resolve attempts whose outcome we don't know: asks the gateway by the attempt's own key, and
    if the gateway never received it, sends the same request (same key) again. Never a new key.

    A pending attempt counts as abandoned once `older_than` (PAYMENT_ATTEMPT_STALE_SECONDS) old."""
    now = now or timezone.now()
    if older_than is None:
        older_than = datetime.timedelta(seconds=settings.PAYMENT_ATTEMPT_STALE_SECONDS)
    stale = now - older_than
    with scopes_disabled():  # the janitor: stale attempts of every partner
        ids = list(
            PaymentAttempt.objects.filter(status=AttemptStatus.PENDING, created_at__lt=stale).values_list(
                "pk", flat=True
            )[:limit]
        )
        ids += PaymentAttempt.objects.filter(status=AttemptStatus.UNKNOWN).values_list("pk", flat=True)[
            :limit
        ]
        ids += PaymentAttempt.objects.filter(
            status=AttemptStatus.PROCESSING, created_at__lt=now - PROCESSING_RECHECK
        ).values_list("pk", flat=True)[:limit]
    resolved = 0
    for attempt_id in ids:
        try:
            with scopes_disabled():  # the janitor: stale attempts of every partner
                attempt = PaymentAttempt.objects.get(pk=attempt_id)
            gateway = get_gateway(attempt.partner_id, processor=attempt.gateway)
            charge = gateway.find_charge(
                attempt.idempotency_key, token=attempt.gateway_token, since=attempt.created_at
            )
            if charge is None and attempt.status != AttemptStatus.PROCESSING:
                logger.info(
                    "Payment attempt %s never reached the gateway; sending it again, same key", attempt_id
                )
                attempt_execute(attempt_id=attempt_id)
            elif charge is not None:
                attempt_record(attempt_id=attempt_id, charge=charge)
            resolved += 1
        except GatewayError as error:
            logger.warning("Payment attempt %s still unresolved: %s", attempt_id, error)
        except Exception:
            logger.exception("Payment attempt %s could not be resolved", attempt_id)
    return resolved
