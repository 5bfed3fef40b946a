"""The sandbox behaves like a processor in test mode: test numbers only, idempotent keys, own books."""

import pytest

from payments.gateways import get_gateway
from payments.gateways.base import (
    BankAccountDetails,
    CardDetails,
    ChargeStatus,
    GatewayError,
    GatewayUnavailable,
    MethodRejected,
    RefundResult,
)
from payments.gateways.sandbox.models import SandboxCharge, SandboxRefund
from tests.concurrency import at_once

pytestmark = pytest.mark.django_db(transaction=True)


def card(number: str, exp_year: int = 2035, exp_month: int = 12) -> CardDetails:
    return CardDetails(number=number, exp_month=exp_month, exp_year=exp_year, cvc="123")


def charge(token: str, key: str, amount: int = 1_000):
    return get_gateway().charge(token=token, amount=amount, currency="usd", idempotency_key=key)


@pytest.mark.parametrize(
    ("number", "status", "code", "hard"),
    [
        ("4242424242424242", ChargeStatus.SUCCEEDED, "", False),
        ("4000000000000002", ChargeStatus.FAILED, "generic_decline", False),
        ("4000000000009995", ChargeStatus.FAILED, "insufficient_funds", False),
        ("4000000000009987", ChargeStatus.FAILED, "lost_card", True),
        ("4000000000009979", ChargeStatus.FAILED, "stolen_card", True),
        ("4000000000000069", ChargeStatus.FAILED, "expired_card", True),
    ],
)
def test_test_cards(number, status, code, hard):
    saved = get_gateway().save_method(card(number))
    assert saved.last4 == number[-4:]
    assert saved.brand == "Visa"
    result = charge(saved.token, f"key-{number}")
    assert (result.status, result.decline_code, result.hard_decline) == (status, code, hard)


def test_a_card_past_its_expiry_is_declined_as_expired():
    saved = get_gateway().save_method(card("4242424242424242", exp_year=2020, exp_month=1))
    assert charge(saved.token, "expired").decline_code == "expired_card"


def test_real_card_numbers_and_unknown_bank_accounts_are_refused_in_test_mode():
    with pytest.raises(MethodRejected, match="4242 4242 4242 4242"):
        get_gateway().save_method(card("4111111111111111"))
    with pytest.raises(MethodRejected, match="110000000"):
        get_gateway().save_method(BankAccountDetails("021000021", "000123456789", "Ada"))


def test_card_details_never_show_the_number_in_a_repr():
    assert "4242424242424242" not in repr(card("4242424242424242"))
    assert "000123456789" not in repr(BankAccountDetails("110000000", "000123456789", "Ada"))


def test_the_same_key_returns_the_first_charge_and_a_different_request_with_it_is_refused():
    token = get_gateway().save_method(card("4242424242424242")).token
    first = charge(token, "same")
    assert charge(token, "same") == first
    with pytest.raises(GatewayError, match="different charge"):
        charge(token, "same", amount=2_000)
    assert SandboxCharge.objects.using("sandbox").count() == 1


def test_the_same_key_sent_at_the_same_moment_from_many_threads_charges_once():
    token = get_gateway().save_method(card("4242424242424242")).token
    results = [made.id for made in at_once(6, lambda: charge(token, "racing"))]
    assert len(results) == 6
    assert len(set(results)) == 1
    assert SandboxCharge.objects.using("sandbox").count() == 1


def test_the_timeout_card_charges_but_never_answers_and_can_be_found_by_key():
    token = get_gateway().save_method(card("4000000000000705")).token
    with pytest.raises(GatewayUnavailable):
        charge(token, "lost-answer")
    found = get_gateway().find_charge("lost-answer")
    assert found.status == ChargeStatus.SUCCEEDED
    assert get_gateway().find_charge("never-sent") is None


def test_refunds_are_limited_to_what_is_left_of_the_charge():
    token = get_gateway().save_method(card("4242424242424242")).token
    made = charge(token, "to-refund")
    get_gateway().refund(charge_id=made.id, amount=600, idempotency_key="r1")
    assert get_gateway().refund(charge_id=made.id, amount=600, idempotency_key="r1").amount == 600  # replay
    with pytest.raises(GatewayError):
        get_gateway().refund(charge_id=made.id, amount=401, idempotency_key="r2")
    assert get_gateway().get_charge(made.id).amount_refunded == 600


@pytest.mark.parametrize("amount", [1_000, 300], ids=["full", "partial"])
def test_the_same_refund_key_sent_at_the_same_moment_refunds_once_and_answers_each_with_it(settings, amount):
    """A double-clicked refund reaches the processor twice at once: every answer is the first refund,
    never "more than what is left" (full) or a crash on the key (partial)."""
    settings.PAYMENT_GATEWAY_OPTIONS = {**settings.PAYMENT_GATEWAY_OPTIONS, "latency_ms": 30}
    made = charge(get_gateway().save_method(card("4242424242424242")).token, "to-refund-twice")

    def send():
        try:
            return get_gateway().refund(charge_id=made.id, amount=amount, idempotency_key="rk")
        except GatewayError as error:
            return error

    answers = at_once(4, send)
    assert len(answers) == 4
    assert {type(answer) for answer in answers} == {RefundResult}, answers
    assert len({answer.id for answer in answers}) == 1
    assert SandboxRefund.objects.using("sandbox").get().amount == amount
    assert get_gateway().get_charge(made.id).amount_refunded == amount


def test_a_refund_key_used_again_for_a_different_refund_is_refused():
    made = charge(get_gateway().save_method(card("4242424242424242")).token, "refund-key-reuse")
    get_gateway().refund(charge_id=made.id, amount=100, idempotency_key="r-reuse")
    with pytest.raises(GatewayError, match="different refund"):
        get_gateway().refund(charge_id=made.id, amount=200, idempotency_key="r-reuse")
    assert get_gateway().get_charge(made.id).amount_refunded == 100
