"""Disputes (chargebacks) of Stripe card payments, on the double's emulated disputes: opening one marks
the payment disputed, shows what was withdrawn and the deadline, alerts the partner (email and the
`payment.disputed` event); won, it closes; lost, the invoice's books write the money off; a replayed
event changes nothing."""

import pytest
from django.core import mail
from django_scopes import scope, scopes_disabled

from api.models import WebhookEndpoint, WebhookEvent
from core import money
from invoicing.models import CreditNote, EventKind, Invoice, InvoiceStatus, PaymentOption
from payments.models import Dispute, DisputeStatus, Payment, ProcessorAccount
from payments.services import webhook_receive
from tests.factories.invoicing import customer_for, make_invoice
from tests.factories.payments import connect_stripe, stripe_card_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def stripe_api(settings, stripe_double):
    settings.STRIPE_API_BASE = stripe_double.url
    return stripe_double


@pytest.fixture
def paid(stripe_api, partner):
    """A partner on Stripe whose customer paid an invoice by card; (keys, account, payment)."""
    keys = connect_stripe(partner, stripe_api)
    with scope(partner=partner):
        WebhookEndpoint.objects.create(
            partner=partner, url="https://example.com/h", event_types=["payment.disputed"]
        )
    customer = customer_for(partner)
    stripe_card_for(customer, stripe_api)
    invoice = make_invoice(partner, customer=customer, payment_option=PaymentOption.CHARGE_NOW)
    with scopes_disabled():
        account = ProcessorAccount.objects.get(partner=partner)
        payment = Payment.objects.get(invoice=invoice)
        assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.PAID
    return keys, account, payment


def _send(stripe_api, keys, account, type_, dispute_id, **fields):
    body, headers = stripe_api.event(keys["id"], type_, collection="disputes", id=dispute_id, **fields)
    return webhook_receive(body=body, headers=headers, account=account)


def _invoice(payment) -> Invoice:
    with scopes_disabled():
        return Invoice.objects.get(pk=payment.invoice_id)


def test_a_dispute_marks_the_payment_alerts_the_partner_and_shows_on_the_invoice(
    stripe_api, paid, owner_client
):
    keys, account, payment = paid
    mail.outbox.clear()
    dispute = stripe_api.dispute(payment.gateway_charge_id, reason="product_not_received")
    assert _send(stripe_api, keys, account, "charge.dispute.created", dispute["id"]) == "applied"

    with scopes_disabled():
        row = Dispute.objects.get(payment=payment)
        [event] = WebhookEvent.objects.filter(partner_id=payment.partner_id, type="payment.disputed")
    assert (row.status, row.amount, row.amount_withdrawn) == (
        DisputeStatus.OPEN,
        payment.amount,
        payment.amount,
    )
    assert row.reason == "product not received"
    assert row.evidence_due_by is not None
    assert event.payload["data"]["payment"]["id"] == payment.pk
    assert event.payload["data"]["dispute"]["amount_withdrawn"] == payment.amount
    [alert] = [m for m in mail.outbox if m.subject.startswith("Payment disputed")]
    withdrawn = money.format_money(payment.amount, payment.currency)
    assert f"{withdrawn} was withdrawn" in alert.body
    assert f"{row.evidence_due_by:%-d %B %Y}" in alert.body

    page = owner_client.get(f"/invoices/{payment.invoice_id}/").content.decode()
    assert "Disputed by the customer (product not received): needs a response." in page
    assert f"{withdrawn} withdrawn" in page
    assert f"Respond in Stripe's Dashboard by {row.evidence_due_by:%-d %B %Y}" in page
    assert _invoice(payment).status == InvoiceStatus.PAID  # as in Stripe: disputed, still paid


def test_a_won_dispute_closes_and_the_money_is_back(stripe_api, paid):
    keys, account, payment = paid
    dispute = stripe_api.dispute(payment.gateway_charge_id)
    _send(stripe_api, keys, account, "charge.dispute.created", dispute["id"])
    stripe_api.dispute_update(dispute["id"], "won")
    assert _send(stripe_api, keys, account, "charge.dispute.closed", dispute["id"]) == "applied"
    with scopes_disabled():
        row = Dispute.objects.get(payment=payment)
        assert not CreditNote.objects.filter(invoice_id=payment.invoice_id).exists()
        assert (
            _invoice(payment)
            .events.filter(kind=EventKind.DISPUTE, message__startswith="Dispute won")
            .exists()
        )
    assert (row.status, row.amount_reinstated, row.amount_lost) == (DisputeStatus.WON, payment.amount, 0)
    assert row.closed_at is not None
    invoice = _invoice(payment)
    assert (invoice.status, invoice.amount_paid, invoice.amount_credited) == (
        InvoiceStatus.PAID, payment.amount, 0,
    )  # fmt: skip


def test_a_lost_dispute_writes_the_money_off_once_even_when_events_repeat(stripe_api, paid, owner_client):
    keys, account, payment = paid
    dispute = stripe_api.dispute(payment.gateway_charge_id, amount=5_000)
    # The first news of a dispute may be its closing (events arrive in any order).
    stripe_api.dispute_update(dispute["id"], "lost")
    assert _send(stripe_api, keys, account, "charge.dispute.closed", dispute["id"], event_id="evt_lost") == (
        "applied"
    )
    assert _send(stripe_api, keys, account, "charge.dispute.closed", dispute["id"], event_id="evt_lost") == (
        "duplicate"
    )
    # Another event about the same closed dispute (Stripe sends several): read again, nothing new.
    assert _send(stripe_api, keys, account, "charge.dispute.updated", dispute["id"]) == "applied"

    invoice = _invoice(payment)
    with scopes_disabled():
        row = Dispute.objects.get(payment=payment)
        [note] = CreditNote.objects.filter(invoice=invoice)
    assert (row.status, row.amount_withdrawn, row.amount_lost) == (DisputeStatus.LOST, 5_000, 5_000)
    assert (note.amount, note.reason) == (5_000, "Lost to a dispute: fraudulent")
    assert (invoice.status, invoice.amount_paid, invoice.amount_credited, invoice.amount_due) == (
        InvoiceStatus.PAID, payment.amount - 5_000, 5_000, 0,
    )  # fmt: skip
    page = owner_client.get(f"/invoices/{invoice.pk}/").content.decode()
    assert "$50.00 lost (credit note)" in page


def test_a_replayed_opening_alerts_once(stripe_api, paid):
    keys, account, payment = paid
    dispute = stripe_api.dispute(payment.gateway_charge_id)
    mail.outbox.clear()
    for _ in range(2):
        _send(stripe_api, keys, account, "charge.dispute.created", dispute["id"], event_id="evt_open")
    _send(stripe_api, keys, account, "charge.dispute.funds_withdrawn", dispute["id"])
    with scopes_disabled():
        assert Dispute.objects.filter(payment=payment).count() == 1
        assert WebhookEvent.objects.filter(type="payment.disputed").count() == 1
    assert len([m for m in mail.outbox if m.subject.startswith("Payment disputed")]) == 1


def test_a_dispute_event_signed_for_another_account_is_refused(stripe_api, paid):
    _, account, payment = paid
    other = stripe_api.account()
    dispute = stripe_api.dispute(payment.gateway_charge_id)
    # Signed for an account whose endpoint is not this one's: the signature does not check out.
    body, headers = stripe_api.event(
        other["id"], "charge.dispute.created", collection="disputes", id=dispute["id"]
    )
    from payments.gateways.base import WebhookInvalid

    with pytest.raises(WebhookInvalid):
        webhook_receive(body=body, headers=headers, account=account)
