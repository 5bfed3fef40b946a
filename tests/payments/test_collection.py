"""Charging saved methods: the five options, retries, the janitor and the live-attempt rule."""

import datetime
import zoneinfo

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.idempotency import replayed
from invoicing.models import EventKind, Invoice, InvoiceStatus, PaymentOption
from payments import jobs, services
from payments.gateways import get_gateway
from payments.gateways.sandbox.models import SandboxCharge
from payments.models import AttemptStatus, AttemptTrigger, Payment, PaymentAttempt
from payments.services import attempts
from payments.tasks import execute_attempt
from reminders.models import Notification, NotificationKind
from tests.factories.invoicing import customer_for, make_invoice
from tests.factories.payments import (
    DECLINED_CARD,
    GOOD_ACCOUNT,
    GOOD_CARD,
    LOST_CARD,
    TIMEOUT_CARD,
    bank_account_for,
    card_for,
)

# Real commits: attempts are committed before the gateway is called and charges run on commit.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("unscoped")]


def ledger(**filters):
    return SandboxCharge.objects.using("sandbox").filter(**filters)


def refreshed(invoice: Invoice) -> Invoice:
    return Invoice.objects.get(pk=invoice.pk)


@pytest.fixture
def customer(partner):
    return customer_for(partner)


def test_charge_now_charges_the_default_method_and_marks_the_invoice_paid(partner, customer):
    card_for(customer)
    invoice = make_invoice(partner, customer=customer, payment_option=PaymentOption.CHARGE_NOW)

    invoice = refreshed(invoice)
    attempt = invoice.attempts.get()
    assert invoice.status == InvoiceStatus.PAID
    assert invoice.amount_paid == invoice.total == 10_000
    assert attempt.status == AttemptStatus.SUCCEEDED
    assert attempt.trigger == AttemptTrigger.CHARGE_NOW
    payment = Payment.objects.get(invoice=invoice)
    charge = ledger(idempotency_key=attempt.idempotency_key).get()
    assert (payment.gateway_charge_id, payment.amount, charge.amount) == (charge.charge_id, 10_000, 10_000)
    # (The invoice email's "Sent" line may land between them: it is sent beside the charge.)
    kinds = list(invoice.events.exclude(kind=EventKind.SENT).values_list("kind", flat=True))
    assert kinds[-3:] == [EventKind.PAYMENT_ATTEMPTED, EventKind.PAYMENT_RECORDED, EventKind.PAID]


def test_charge_method_on_file_charges_the_chosen_method_not_the_default(partner, customer):
    card_for(customer)
    chosen = card_for(customer, "5555555555554444", default=False)
    invoice = make_invoice(
        partner, customer=customer, payment_option=PaymentOption.CHARGE_METHOD_ON_FILE, payment_method=chosen
    )
    attempt = refreshed(invoice).attempts.get()
    assert attempt.payment_method == chosen
    assert attempt.method_label == "Mastercard •••• 4444"
    assert refreshed(invoice).status == InvoiceStatus.PAID


@pytest.mark.parametrize("option", [PaymentOption.CHARGE_LATER, PaymentOption.EMAIL_PAYMENT_LINK])
def test_options_that_do_not_charge_leave_the_invoice_open(partner, customer, option):
    card_for(customer)
    invoice = refreshed(make_invoice(partner, customer=customer, payment_option=option))
    assert invoice.status == InvoiceStatus.OPEN
    assert not invoice.attempts.exists()
    assert invoice.next_charge_at is None


def test_charge_on_due_date_waits_for_midnight_of_the_due_date_in_the_partners_time_zone(partner, customer):
    partner.timezone = "Pacific/Auckland"
    partner.save()
    card_for(customer)
    invoice = refreshed(
        make_invoice(
            partner, customer=customer, payment_option=PaymentOption.CHARGE_ON_DUE_DATE, due_in_days=5
        )
    )
    zone = zoneinfo.ZoneInfo("Pacific/Auckland")
    assert invoice.next_charge_at == datetime.datetime.combine(
        invoice.due_date, datetime.time(0), tzinfo=zone
    )

    assert jobs.charge_due_invoices(now=invoice.next_charge_at - datetime.timedelta(seconds=1)) == 0
    assert jobs.charge_due_invoices(now=invoice.next_charge_at) == 1
    invoice = refreshed(invoice)
    assert invoice.status == InvoiceStatus.PAID
    assert invoice.next_charge_at is None
    assert jobs.charge_due_invoices(now=timezone.now() + datetime.timedelta(days=9)) == 0
    assert ledger(idempotency_key__in=invoice.attempts.values("idempotency_key")).count() == 1


def test_a_soft_decline_is_retried_on_the_partners_schedule_then_given_up(partner, customer):
    card_for(customer, DECLINED_CARD)
    invoice = make_invoice(partner, customer=customer, payment_option=PaymentOption.CHARGE_NOW)
    first = refreshed(invoice).attempts.get()
    assert first.status == AttemptStatus.FAILED
    assert first.failure_message == "The card has insufficient funds."
    first_day = first.created_at.astimezone(partner.zone).date()

    for try_number, offset in [(2, 3), (3, 7), (4, 14)]:
        invoice = refreshed(invoice)
        expected = datetime.datetime.combine(
            first_day + datetime.timedelta(days=offset), datetime.time(0), tzinfo=partner.zone
        )
        assert invoice.next_charge_at == expected
        assert invoice.status == InvoiceStatus.OPEN
        assert jobs.charge_due_invoices(now=expected) == 1
        latest = invoice.attempts.order_by("-id").first()
        assert (latest.trigger, latest.try_number, latest.status) == ("retry", try_number, "failed")

    invoice = refreshed(invoice)
    assert invoice.next_charge_at is None
    assert invoice.collection_failed_at is not None
    assert invoice.status == InvoiceStatus.OPEN  # the partner's default: keep it open
    assert invoice.attempts.count() == 4
    assert invoice.events.filter(kind=EventKind.COLLECTION_STOPPED).exists()


def test_when_retries_run_out_the_invoice_is_written_off_if_the_partner_says_so(partner, customer):
    partner.charge_retry_days = [1]
    partner.mark_uncollectible_after_retries = True
    partner.save()
    card_for(customer, DECLINED_CARD)
    invoice = make_invoice(partner, customer=customer, payment_option=PaymentOption.CHARGE_NOW)
    jobs.charge_due_invoices(now=timezone.now() + datetime.timedelta(days=2))
    invoice = refreshed(invoice)
    assert invoice.status == InvoiceStatus.UNCOLLECTIBLE
    assert invoice.attempts.count() == 2


def test_a_hard_decline_is_never_retried(partner, customer):
    card_for(customer, LOST_CARD)
    invoice = refreshed(make_invoice(partner, customer=customer, payment_option=PaymentOption.CHARGE_NOW))
    attempt = invoice.attempts.get()
    assert attempt.hard_decline
    assert attempt.decline_code == "lost_card"
    assert invoice.next_charge_at is None
    assert invoice.collection_failed_at is not None
    assert jobs.charge_due_invoices(now=timezone.now() + datetime.timedelta(days=30)) == 0


def test_charge_now_without_a_saved_method_is_refused_when_the_invoice_is_made(partner, customer):
    with pytest.raises(ValidationError) as error:
        make_invoice(partner, customer=customer, payment_option=PaymentOption.CHARGE_NOW)
    assert "needs a saved payment method" in str(error.value)


def test_due_date_charge_with_no_method_left_tells_the_partner(partner, customer):
    method = card_for(customer)
    invoice = make_invoice(partner, customer=customer, payment_option=PaymentOption.CHARGE_ON_DUE_DATE)
    from payments.services import payment_method_remove

    payment_method_remove(method=method)
    jobs.charge_due_invoices(now=timezone.now() + datetime.timedelta(days=31))
    invoice = refreshed(invoice)
    assert invoice.status == InvoiceStatus.OPEN
    assert invoice.collection_failed_at is not None
    assert "No saved payment method" in invoice.events.get(kind=EventKind.COLLECTION_STOPPED).message


def test_at_most_one_live_attempt_per_invoice(partner, customer):
    card = card_for(customer)
    invoice = make_invoice(partner, customer=customer)
    with transaction.atomic():
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        live = services.attempt_start(invoice=locked, method=card, trigger=AttemptTrigger.MANUAL, actor=None)
    with pytest.raises(ValidationError, match="already in progress"):
        services.charge_invoice(invoice=invoice, method=card, trigger=AttemptTrigger.MANUAL, actor=None)
    # The database enforces it even for code that skips the check.
    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentAttempt.objects.create(
            partner=partner,
            invoice=invoice,
            customer=customer,
            method_label="x",
            gateway="sandbox",
            gateway_token=card.gateway_token,
            amount=1,
            currency="USD",
            trigger=AttemptTrigger.MANUAL,
        )
    assert live.status == AttemptStatus.PENDING


def test_a_paid_invoice_is_never_charged(partner, customer):
    card = card_for(customer)
    invoice = make_invoice(partner, customer=customer, payment_option=PaymentOption.CHARGE_NOW)
    assert refreshed(invoice).status == InvoiceStatus.PAID
    with pytest.raises(ValidationError, match="paid"):
        services.charge_invoice(invoice=invoice, method=card, trigger=AttemptTrigger.MANUAL, actor=None)
    assert invoice.attempts.count() == 1


def test_a_charge_over_the_amount_due_is_refused(partner, customer):
    card = card_for(customer)
    invoice = make_invoice(partner, customer=customer)
    with pytest.raises(ValidationError) as error:
        services.charge_invoice(
            invoice=invoice, method=card, trigger=AttemptTrigger.MANUAL, actor=None, amount=10_001
        )
    assert "more than the $100.00 still due" in error.value.message_dict["amount"][0]
    assert not ledger(token=card.gateway_token).exists()


def test_a_partial_charge_leaves_the_rest_due(partner, customer):
    card = card_for(customer)
    invoice = make_invoice(partner, customer=customer)
    services.charge_invoice(
        invoice=invoice, method=card, trigger=AttemptTrigger.MANUAL, actor=None, amount=2_500
    )
    invoice = refreshed(invoice)
    assert (invoice.status, invoice.amount_paid, invoice.amount_due) == (InvoiceStatus.OPEN, 2_500, 7_500)


def test_the_same_idempotency_key_charges_once(partner, customer):
    card = card_for(customer)
    invoice = make_invoice(partner, customer=customer)
    kwargs = {
        "invoice": invoice,
        "method": card,
        "trigger": AttemptTrigger.MANUAL,
        "actor": None,
        "amount": 1_000,
    }
    first = services.charge_invoice(**kwargs, idempotency_key="form-abc")
    again = services.charge_invoice(**kwargs, idempotency_key="form-abc")  # the first attempt, back
    assert (again.pk, replayed(first), replayed(again)) == (first.pk, False, True)
    assert ledger(token=card.gateway_token).count() == 1
    assert refreshed(invoice).amount_paid == 1_000


# The janitor -----------------------------------------------------------------------------------------


def test_a_timeout_leaves_the_attempt_unknown_and_the_janitor_records_the_charge_without_charging_again(
    partner, customer
):
    card_for(customer, TIMEOUT_CARD)
    invoice = make_invoice(partner, customer=customer, payment_option=PaymentOption.CHARGE_NOW)
    attempt = refreshed(invoice).attempts.get()
    assert attempt.status == AttemptStatus.UNKNOWN
    assert refreshed(invoice).status == InvoiceStatus.OPEN

    assert jobs.attempts_resolve_stale() == 1
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.SUCCEEDED
    assert refreshed(invoice).status == InvoiceStatus.PAID
    assert ledger(token=attempt.gateway_token).count() == 1


def _committed_attempt(invoice, method) -> PaymentAttempt:
    """What a worker that died right after committing the attempt leaves behind."""
    with transaction.atomic():
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        return services.attempt_start(
            invoice=locked, method=method, trigger=AttemptTrigger.MANUAL, actor=None
        )


def test_an_attempt_that_never_reached_the_gateway_is_sent_again_with_the_same_key(partner, customer):
    card = card_for(customer)
    invoice = make_invoice(partner, customer=customer)
    attempt = _committed_attempt(invoice, card)

    assert jobs.attempts_resolve_stale() == 0  # not stale yet: its worker may still be running
    later = timezone.now() + datetime.timedelta(minutes=5)
    assert jobs.attempts_resolve_stale(now=later) == 1
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.SUCCEEDED
    assert list(ledger(token=card.gateway_token).values_list("idempotency_key", flat=True)) == [
        attempt.idempotency_key
    ]


def test_a_crash_after_the_gateway_charged_is_recorded_once_by_the_janitor(partner, customer):
    card = card_for(customer)
    invoice = make_invoice(partner, customer=customer)
    attempt = _committed_attempt(invoice, card)
    get_gateway().charge(
        token=card.gateway_token,
        amount=attempt.amount,
        currency="USD",
        idempotency_key=attempt.idempotency_key,
    )  # ... and the process died before recording it

    jobs.attempts_resolve_stale(now=timezone.now() + datetime.timedelta(minutes=5))
    jobs.attempts_resolve_stale(now=timezone.now() + datetime.timedelta(minutes=5))
    execute_attempt(
        partner_id=attempt.partner_id, attempt_id=attempt.pk
    )  # a late duplicate of the original task changes nothing
    assert ledger(token=card.gateway_token).count() == 1
    assert Payment.objects.filter(invoice=invoice).count() == 1
    assert refreshed(invoice).status == InvoiceStatus.PAID


def test_execute_attempt_rejects_bad_arguments_and_logs(caplog, partner):
    assert execute_attempt(partner_id=partner.pk, attempt_id="1; drop table") == "rejected"
    assert execute_attempt(partner_id=True, attempt_id=1) == "rejected"
    assert execute_attempt(partner_id=partner.pk, attempt_id=999_999_999) == "rejected"
    assert "rejected" in caplog.text


# Customer credit -------------------------------------------------------------------------------------


def test_an_overpayment_becomes_credit_that_settles_the_next_invoice(partner, customer, owner):
    from payments.services import payment_record_offline

    first = make_invoice(partner, customer=customer)
    with pytest.raises(ValidationError, match="more than the"):
        payment_record_offline(
            invoice=first, amount=15_000, method="check", received_on=partner.today(), actor=owner
        )
    payment_record_offline(
        invoice=first,
        amount=15_000,
        method="check",
        received_on=partner.today(),
        keep_excess_as_credit=True,
        actor=owner,
    )
    assert refreshed(first).status == InvoiceStatus.PAID
    assert services.credit_balance(customer=customer, currency="USD") == 5_000

    card_for(customer)
    second = refreshed(make_invoice(partner, customer=customer, payment_option=PaymentOption.CHARGE_NOW))
    assert (second.credit_applied, second.amount_paid, second.status) == (5_000, 5_000, InvoiceStatus.PAID)
    assert second.attempts.get().amount == 5_000  # only the rest was charged
    assert services.credit_balance(customer=customer, currency="USD") == 0

    third = make_invoice(partner, customer=customer, currency="EUR")
    assert refreshed(third).credit_applied == 0  # credit is per currency


def test_voiding_an_invoice_gives_its_credit_back(partner, customer, owner):
    from invoicing.services import invoice_void
    from payments.services import payment_record_offline

    first = make_invoice(partner, customer=customer)
    payment_record_offline(
        invoice=first,
        amount=13_000,
        method="cash",
        received_on=partner.today(),
        keep_excess_as_credit=True,
        actor=owner,
    )
    second = refreshed(make_invoice(partner, customer=customer))
    assert second.credit_applied == 3_000
    assert second.amount_due == 7_000
    invoice_void(invoice=second, actor=owner)
    assert services.credit_balance(customer=customer, currency="USD") == 3_000


def test_an_invoice_with_a_payment_in_flight_cannot_be_voided(partner, customer, owner):
    from invoicing.services import invoice_void

    invoice = make_invoice(partner, customer=customer)
    _committed_attempt(invoice, card_for(customer))
    with pytest.raises(ValidationError, match="in progress"):
        invoice_void(invoice=invoice, actor=owner)


def test_a_due_invoice_being_charged_by_hand_is_looked_at_again_an_hour_later(partner, customer):
    card = card_for(customer)
    invoice = make_invoice(partner, customer=customer, payment_option=PaymentOption.CHARGE_ON_DUE_DATE)
    due = refreshed(invoice).next_charge_at
    manual = _committed_attempt(invoice, card)  # the partner's own charge, still in flight

    assert jobs.charge_due_invoices(now=due) == 0
    assert refreshed(invoice).next_charge_at == due + datetime.timedelta(hours=1)

    services.attempt_record_refusal(attempt_id=manual.pk, message="Declined by hand-made test")
    assert jobs.charge_due_invoices(now=due + datetime.timedelta(hours=1)) == 1
    assert refreshed(invoice).status == InvoiceStatus.PAID


def test_no_credit_note_while_a_payment_is_in_flight(partner, customer, owner):
    from invoicing.services import credit_note_create

    invoice = make_invoice(partner, customer=customer)
    _committed_attempt(invoice, card_for(customer))
    with pytest.raises(ValidationError, match="in progress"):
        credit_note_create(invoice=invoice, amount=10_000, reason="Cancelled", actor=owner)


def _due_on_each(partner, cards: list[str]) -> list[Invoice]:
    """One Charge-on-due-date invoice per card, each for its own customer, all due today (so charged
    by the next run, and a soft decline's retry, 3 days after the first try, is not)."""
    invoices = []
    for number in cards:
        customer = customer_for(partner)
        if number.startswith("000"):
            bank_account_for(customer, number)
        else:
            card_for(customer, number)
        invoices.append(
            make_invoice(
                partner, customer=customer, payment_option=PaymentOption.CHARGE_ON_DUE_DATE, due_in_days=0
            )
        )
    return invoices


def test_one_batch_records_every_kind_of_outcome_as_single_charges_would(partner):
    invoices = _due_on_each(partner, [GOOD_CARD, DECLINED_CARD, LOST_CARD, TIMEOUT_CARD, GOOD_ACCOUNT])

    assert jobs.charge_due_invoices() == 5

    paid, soft, hard, timed_out, bank = (refreshed(invoice) for invoice in invoices)
    assert paid.status == InvoiceStatus.PAID
    # The receipt is emailed at once within the partner's sending hours, else at the next one: its
    # "sent" event follows or not depending on the hour the test runs, so emails are left out here.
    emails = (EventKind.SENT, EventKind.REMINDER_SENT, EventKind.EMAIL)
    assert list(paid.events.exclude(kind__in=emails).values_list("kind", flat=True))[-3:] == [
        EventKind.PAYMENT_ATTEMPTED,
        EventKind.PAYMENT_RECORDED,
        EventKind.PAID,
    ]
    payment = Payment.objects.get(invoice=paid)
    assert payment.amount == paid.total
    receipts = Notification.objects.filter(kind=NotificationKind.RECEIPT, invoice__in=invoices)
    assert list(receipts.values_list("invoice_id", "key")) == [(paid.pk, f"payment:{payment.pk}")]
    assert soft.attempts.get().status == AttemptStatus.FAILED
    assert soft.next_charge_at is not None
    assert hard.attempts.get().hard_decline
    assert hard.collection_failed_at is not None
    assert timed_out.attempts.get().status == AttemptStatus.UNKNOWN
    assert bank.attempts.get().status == AttemptStatus.PROCESSING
    assert bank.events.filter(kind=EventKind.PAYMENT_PROCESSING).count() == 1
    assert Payment.objects.filter(invoice__in=invoices).count() == 1


def test_when_recording_a_batch_fails_the_others_are_recorded_one_by_one(partner, monkeypatch, caplog):
    invoices = _due_on_each(partner, [GOOD_CARD, GOOD_CARD, GOOD_CARD])
    broken = invoices[1]
    real_apply = attempts._apply_charge

    def apply_charge(invoice, attempt, charge):
        if invoice.pk == broken.pk:
            raise RuntimeError("a bug while recording this one")
        real_apply(invoice, attempt, charge)

    monkeypatch.setattr(attempts, "_apply_charge", apply_charge)
    assert jobs.charge_due_invoices() == 3

    assert "recording them one by one" in caplog.text
    assert [refreshed(invoice).status for invoice in invoices] == ["paid", "open", "paid"]
    assert Payment.objects.filter(invoice__in=invoices).count() == 2
    stuck = broken.attempts.get()
    assert stuck.status == AttemptStatus.PENDING  # charged at the gateway, not yet recorded

    monkeypatch.setattr(attempts, "_apply_charge", real_apply)
    assert jobs.attempts_resolve_stale(now=timezone.now() + datetime.timedelta(hours=1)) == 1
    assert refreshed(broken).status == InvoiceStatus.PAID
    assert ledger(idempotency_key=stuck.idempotency_key).count() == 1  # found by its key, not charged again
