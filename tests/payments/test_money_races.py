"""Double clicks that reach the server at the same moment, on real connections (one per thread): the
processor's ledger (the sandbox's books) and the app's books must agree, with one refund or one payment
recorded per form."""

import datetime

import pytest

from invoicing.models import CreditNote, Invoice, PaymentOption
from payments.gateways.base import IdempotencyConflict
from payments.gateways.sandbox.gateway import SandboxGateway
from payments.gateways.sandbox.models import SandboxCharge, SandboxRefund
from payments.models import Payment, Refund, RefundStatus, new_idempotency_key
from payments.services import refund_create, refunds_resolve_stale
from tests.concurrency import at_once
from tests.factories.invoicing import customer_for, make_invoice
from tests.factories.payments import card_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("unscoped")]


@pytest.fixture
def slow_gateway(settings):
    """A processor that takes 50 ms to answer, so a double click's second request arrives while the
    first one is still at the processor."""
    settings.PAYMENT_GATEWAY_OPTIONS = {**settings.PAYMENT_GATEWAY_OPTIONS, "latency_ms": 50}


@pytest.mark.usefixtures("slow_gateway")
@pytest.mark.parametrize("amount", [10_000, 3_000], ids=["full", "partial"])
def test_a_refund_submitted_many_times_at_once_is_paid_and_recorded_once(partner, owner, amount):
    customer = customer_for(partner)
    card_for(customer)
    invoice = make_invoice(partner, customer=customer, payment_option=PaymentOption.CHARGE_NOW)
    payment = Payment.objects.get(invoice=invoice)
    key = new_idempotency_key()

    def submit():
        return refund_create(
            payment=Payment.objects.get(pk=payment.pk),
            amount=amount,
            reason="Double click",
            reduce_amount_owed=True,
            actor=owner,
            idempotency_key=key,
        ).pk

    assert len(set(at_once(4, submit))) == 1  # one refund; no submit crashed

    refund = Refund.objects.get()
    assert refund.status == RefundStatus.SUCCEEDED
    # The processor's ledger and the app's books say the same.
    charge = SandboxCharge.objects.using("sandbox").get(charge_id=payment.gateway_charge_id)
    sandbox_refund = SandboxRefund.objects.using("sandbox").get()
    assert (sandbox_refund.amount, sandbox_refund.refund_id) == (amount, refund.gateway_refund_id)
    assert charge.amount_refunded == Payment.objects.get(pk=payment.pk).amount_refunded == amount
    invoice = Invoice.objects.get(pk=invoice.pk)
    assert invoice.amount_refunded == amount
    assert list(CreditNote.objects.filter(invoice=invoice).values_list("amount", flat=True)) == [amount]
    assert (invoice.amount_credited, invoice.amount_due) == (amount, 0)


class ConflictingSandboxGateway(SandboxGateway):
    """Answers the first call of every refund key as a processor answers a key still in use (409)."""

    seen: set[str] = set()

    def refund(self, *, charge_id: str, amount: int, idempotency_key: str):
        if idempotency_key not in self.seen:
            self.seen.add(idempotency_key)
            raise IdempotencyConflict("A request with this key is in progress.")
        return super().refund(charge_id=charge_id, amount=amount, idempotency_key=idempotency_key)


def test_a_conflict_on_the_refund_key_is_an_unknown_outcome_asked_again_never_a_failure(
    settings, partner, owner
):
    settings.PAYMENT_GATEWAY = f"{__name__}.ConflictingSandboxGateway"
    customer = customer_for(partner)
    card_for(customer)
    invoice = make_invoice(partner, customer=customer, payment_option=PaymentOption.CHARGE_NOW)
    payment = Payment.objects.get(invoice=invoice)
    refund = refund_create(payment=payment, amount=4_000, reason="Seat", reduce_amount_owed=True, actor=owner)
    assert refund.status == RefundStatus.PENDING
    assert not CreditNote.objects.filter(invoice=invoice).exists()
    assert refunds_resolve_stale(older_than=datetime.timedelta(0)) == 1  # the janitor asks again
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert SandboxCharge.objects.using("sandbox").get().amount_refunded == 4_000
    assert CreditNote.objects.get(invoice=invoice).amount == 4_000
