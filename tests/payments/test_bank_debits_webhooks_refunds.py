"""Bank debits that settle later through a signed webhook; forged and replayed webhooks; refunds."""

import datetime
import json
import time

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from invoicing.models import CreditNote, EventKind, Invoice, InvoiceStatus, PaymentOption
from payments.gateways import get_gateway
from payments.gateways.base import WebhookInvalid
from payments.gateways.sandbox.models import SandboxCharge, SandboxEvent
from payments.models import AttemptStatus, Payment, Refund, RefundStatus, WebhookDelivery
from payments.services import payment_record_offline, refund_create, webhook_receive
from payments.tasks import sandbox_clock
from tests.factories.invoicing import customer_for, make_invoice
from tests.factories.payments import RETURNED_ACCOUNT, bank_account_for, card_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("unscoped")]

LATER = datetime.timedelta(minutes=5)


def refreshed(invoice: Invoice) -> Invoice:
    return Invoice.objects.get(pk=invoice.pk)


@pytest.fixture
def customer(partner):
    return customer_for(partner)


def _bank_invoice(partner, customer, account=None):
    bank_account_for(customer, *([account] if account else []))
    return make_invoice(partner, customer=customer, payment_option=PaymentOption.CHARGE_NOW)


def test_a_bank_debit_is_processing_until_its_webhook_says_it_settled(partner, customer):
    invoice = _bank_invoice(partner, customer)
    attempt = refreshed(invoice).attempts.get()
    assert attempt.status == AttemptStatus.PROCESSING
    assert refreshed(invoice).status == InvoiceStatus.OPEN
    assert refreshed(invoice).events.filter(kind=EventKind.PAYMENT_PROCESSING).exists()

    events = get_gateway().advance(now=timezone.now() + LATER)
    assert [json.loads(body)["type"] for _, body, _ in events] == ["charge.succeeded"]
    _, body, headers = events[0]
    assert webhook_receive(body=body, headers=headers) == "applied"
    invoice = refreshed(invoice)
    assert invoice.status == InvoiceStatus.PAID
    assert Payment.objects.get(invoice=invoice).method == "bank_debit"

    assert webhook_receive(body=body, headers=headers) == "duplicate"
    assert Payment.objects.filter(invoice=invoice).count() == 1


def test_a_returned_bank_debit_fails_and_is_retried_later(partner, customer):
    invoice = _bank_invoice(partner, customer, RETURNED_ACCOUNT)
    for _, body, headers in get_gateway().advance(now=timezone.now() + LATER):
        webhook_receive(body=body, headers=headers)
    invoice = refreshed(invoice)
    attempt = invoice.attempts.get()
    assert attempt.status == AttemptStatus.FAILED
    assert attempt.decline_code == "R01"
    assert "insufficient funds (R01)" in attempt.failure_message
    assert invoice.status == InvoiceStatus.OPEN
    assert invoice.next_charge_at is not None


def test_the_beat_clock_delivers_sandbox_webhooks_once(partner, customer):
    invoice = _bank_invoice(partner, customer)
    SandboxCharge.objects.using("sandbox").update(settles_at=timezone.now() - LATER)
    assert sandbox_clock() == 1
    assert sandbox_clock() == 0
    assert refreshed(invoice).status == InvoiceStatus.PAID
    assert not SandboxEvent.objects.using("sandbox").filter(delivered_at=None).exists()


def test_a_webhook_is_only_a_trigger_the_charge_is_read_again_from_the_gateway(partner, customer):
    """An event that arrives before the charge settled (out of order) changes nothing; the next one does."""
    invoice = _bank_invoice(partner, customer)
    charge = SandboxCharge.objects.using("sandbox").get()
    early = SandboxEvent.objects.using("sandbox").create(
        event_id="evt_early", type="charge.succeeded", charge_id=charge.charge_id
    )
    body, headers = get_gateway().sign(early)
    assert webhook_receive(body=body, headers=headers) == "applied"
    assert refreshed(invoice).status == InvoiceStatus.OPEN  # the gateway still says "processing"

    for _, body, headers in get_gateway().advance(now=timezone.now() + LATER):
        webhook_receive(body=body, headers=headers)
    assert refreshed(invoice).status == InvoiceStatus.PAID


def test_forged_stale_and_malformed_webhooks_are_rejected_with_400(client, partner, customer, caplog):
    invoice = _bank_invoice(partner, customer)
    event = get_gateway().advance(now=timezone.now() + LATER)[0]
    _, body, headers = event
    url = reverse("gateway_webhook")
    signature = headers["Sandbox-Signature"]

    def post(body, signature):
        return client.post(url, body, content_type="application/json", HTTP_SANDBOX_SIGNATURE=signature)

    forged_body = body.replace(b"charge.succeeded", b"charge.failed")
    assert post(forged_body, signature).status_code == 400
    assert post(body, signature.replace("v1=", "v1=0")).status_code == 400
    assert post(body, "").status_code == 400
    assert post(b"not json", signature).status_code == 400
    old_event = SandboxEvent.objects.using("sandbox").get()
    stale_body, stale_headers = get_gateway().sign(old_event, timestamp=int(time.time()) - 3600)
    assert post(stale_body, stale_headers["Sandbox-Signature"]).status_code == 400
    assert client.get(url).status_code == 405
    assert refreshed(invoice).status == InvoiceStatus.OPEN
    assert not WebhookDelivery.objects.exists()
    assert "Gateway webhook rejected" in caplog.text

    assert post(body, signature).status_code == 200
    assert post(body, signature).content == b"duplicate"  # a replay of a valid event changes nothing
    assert refreshed(invoice).status == InvoiceStatus.PAID


def test_parse_webhook_refuses_a_body_without_an_event():
    gateway = get_gateway()
    event = SandboxEvent(event_id="evt_x", type="charge.succeeded", charge_id="ch_x")
    body, headers = gateway.sign(event)
    assert gateway.parse_webhook(body, headers).charge_id == "ch_x"
    with pytest.raises(WebhookInvalid):
        gateway.parse_webhook(b"{}", {"Sandbox-Signature": headers["Sandbox-Signature"]})


# Refunds ---------------------------------------------------------------------------------------------


def _paid_by_card(partner, customer):
    card_for(customer)
    invoice = refreshed(make_invoice(partner, customer=customer, payment_option=PaymentOption.CHARGE_NOW))
    assert invoice.status == InvoiceStatus.PAID
    return invoice, Payment.objects.get(invoice=invoice)


def test_a_partial_refund_with_a_credit_note_keeps_the_invoice_paid(partner, customer, owner):
    invoice, payment = _paid_by_card(partner, customer)
    refund = refund_create(
        payment=payment, amount=3_000, reason="Cancelled seat", reduce_amount_owed=True, actor=owner
    )
    assert refund.status == RefundStatus.SUCCEEDED
    assert refund.gateway_refund_id.startswith("re_sbx_")
    invoice = refreshed(invoice)
    assert (invoice.status, invoice.amount_paid, invoice.amount_refunded) == ("paid", 7_000, 3_000)
    assert (invoice.amount_credited, invoice.amount_due) == (3_000, 0)
    assert CreditNote.objects.get(invoice=invoice).amount == 3_000
    assert (
        SandboxCharge.objects.using("sandbox").get(charge_id=payment.gateway_charge_id).amount_refunded
        == 3_000
    )
    assert invoice.events.filter(kind=EventKind.REFUNDED).exists()


def test_a_refund_without_a_credit_note_reopens_the_invoice(partner, customer, owner):
    invoice, payment = _paid_by_card(partner, customer)
    refund_create(payment=payment, amount=10_000, reason="Wrong card", reduce_amount_owed=False, actor=owner)
    invoice = refreshed(invoice)
    assert (invoice.status, invoice.amount_paid, invoice.amount_due) == ("open", 0, 10_000)


def test_refunds_over_what_was_paid_are_refused_and_move_no_money(partner, customer, owner):
    _invoice, payment = _paid_by_card(partner, customer)
    refund_create(payment=payment, amount=6_000, reason="Part", reduce_amount_owed=True, actor=owner)
    with pytest.raises(ValidationError) as error:
        refund_create(payment=payment, amount=4_001, reason="Rest", reduce_amount_owed=True, actor=owner)
    assert "more than the $40.00" in error.value.message_dict["amount"][0]
    with pytest.raises(ValidationError):
        refund_create(payment=payment, amount=0, reason="Zero", reduce_amount_owed=True, actor=owner)
    with pytest.raises(ValidationError) as error:
        refund_create(payment=payment, amount=100, reason="  ", reduce_amount_owed=True, actor=owner)
    assert "reason" in error.value.message_dict
    assert SandboxCharge.objects.using("sandbox").get().amount_refunded == 6_000


def test_a_double_submitted_refund_refunds_once(partner, customer, owner):
    _invoice, payment = _paid_by_card(partner, customer)
    kwargs = {
        "payment": payment,
        "amount": 1_000,
        "reason": "Goodwill",
        "reduce_amount_owed": True,
        "actor": owner,
    }
    first = refund_create(**kwargs, idempotency_key="refund-form-1")
    second = refund_create(**kwargs, idempotency_key="refund-form-1")
    assert first.pk == second.pk
    assert Refund.objects.count() == 1
    assert SandboxCharge.objects.using("sandbox").get().amount_refunded == 1_000


def test_an_offline_payment_is_refunded_by_hand(partner, customer, owner):
    invoice = make_invoice(partner, customer=customer)
    payment = payment_record_offline(
        invoice=invoice, amount=10_000, method="check", received_on=partner.today(), actor=owner
    )
    refund = refund_create(
        payment=payment, amount=2_000, reason="Overbilled", reduce_amount_owed=True, actor=owner
    )
    assert refund.status == RefundStatus.SUCCEEDED
    assert refund.gateway_refund_id == ""
    assert refreshed(invoice).amount_paid == 8_000


def test_refund_create_refuses_to_run_inside_a_transaction(partner, customer, owner):
    from django.db import transaction

    _, payment = _paid_by_card(partner, customer)
    with pytest.raises(RuntimeError), transaction.atomic():
        refund_create(payment=payment, amount=1, reason="x", reduce_amount_owed=True, actor=owner)


def test_parse_webhook_refuses_a_signature_with_non_ascii_characters():
    """hmac.compare_digest raises TypeError on non-ASCII str; a forged header must be a 400, not a 500."""
    gateway = get_gateway()
    body, headers = gateway.sign(SandboxEvent(event_id="evt_x", type="charge.succeeded", charge_id="ch_x"))
    timestamp = headers["Sandbox-Signature"].split(",")[0]
    with pytest.raises(WebhookInvalid):
        gateway.parse_webhook(body, {"Sandbox-Signature": f"{timestamp},v1=é"})
