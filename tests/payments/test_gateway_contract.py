"""One contract for every Gateway, run against the sandbox and the Stripe adapter (on the test double):
what the app's exactly-once charging and refunds rely on."""

import dataclasses
import json
import os
import time
from collections.abc import Callable

import pytest
from django.utils import timezone

from payments.gateways.base import (
    ChargeStatus,
    Gateway,
    GatewayError,
    GatewayUnavailable,
    MethodKind,
    MethodRejected,
    WebhookInvalid,
)
from payments.gateways.sandbox.gateway import SandboxGateway, number_digest
from payments.gateways.sandbox.models import SandboxCharge, SandboxEvent
from payments.gateways.stripe.gateway import StripeGateway

pytestmark = pytest.mark.django_db


@dataclasses.dataclass
class Processor:
    """A gateway, and what a test needs to play the browser, the issuer and the network around it."""

    gateway: Gateway
    save: Callable[[str], object]  # a test number, entered in the browser -> SavedMethod
    declining: str  # a number that saves, then declines charges (soft)
    hard_declining: Callable[[], str]  # -> token of a method whose issuer says "never again"
    lose_next_answers: Callable[[], None]  # the next charge is made but its answer never arrives
    charges_with_key: Callable[[str], int]  # in the processor's own ledger
    signed_event: Callable[..., tuple[bytes, dict]]  # (charge id, timestamp=None) -> body, headers


def sandbox_processor() -> Processor:
    gateway = SandboxGateway()

    def save(number):
        return gateway.setup_finish(f"card:{number_digest(number)}:12:2034")

    def signed_event(charge_id, timestamp=None):
        event = SandboxEvent.objects.using("sandbox").create(
            event_id=f"evt_{time.monotonic_ns()}", type="charge.succeeded", charge_id=charge_id
        )
        return gateway.sign(event, timestamp=timestamp)

    lost = {}
    return Processor(
        gateway=gateway,
        save=lambda number: save(lost.pop("number", number)),
        declining="4000000000000002",
        hard_declining=lambda: save("4000000000009987").token,
        lose_next_answers=lambda: lost.update(number="4000000000000705"),
        charges_with_key=lambda key: (
            SandboxCharge.objects.using("sandbox").filter(idempotency_key=key).count()
        ),
        signed_event=signed_event,
    )


def stripe_processor(double) -> Processor:
    account = double.account(name="Northwind IT")
    setup_gateway = StripeGateway(
        secret_key=account["secret_key"], publishable_key=account["publishable_key"], api_base=double.url
    )
    endpoint = setup_gateway.client.v1.webhook_endpoints.create(
        {"url": "https://invoicing.example/webhooks/stripe/x/", "enabled_events": ["*"]}
    )
    gateway = StripeGateway(
        secret_key=account["secret_key"],
        publishable_key=account["publishable_key"],
        webhook_secret=endpoint.secret,
        api_base=double.url,
        timeout=1,
    )

    def save(number):
        setup = gateway.setup_start()
        double.confirm_setup(setup, number)
        return gateway.setup_finish(setup.reference)

    def hard_declining():
        saved = save("4242424242424242")
        double.decline(saved.token.split("/")[1], "lost_card")
        return saved.token

    def charges_with_key(key):
        intents = double.ledger(account["id"])["payment_intents"]
        return sum(1 for pi in intents if pi["metadata"].get("idempotency_key") == key)

    def signed_event(charge_id, timestamp=None):
        return double.event(
            account["id"],
            "payment_intent.succeeded",
            collection="payment_intents",
            id=charge_id,
            timestamp=timestamp,
        )

    return Processor(
        gateway=gateway,
        save=save,
        declining="4000000000000341",
        hard_declining=hard_declining,
        lose_next_answers=lambda: double.lose_answers("/v1/payment_intents", when="after", times=2, hang=1.5),
        charges_with_key=charges_with_key,
        signed_event=signed_event,
    )


class LosingStripeGateway(StripeGateway):
    """Real Stripe can't be told to lose an answer: this client sends the charge, then drops the answer."""

    lose_next = False

    def charge(self, **request):
        made = super().charge(**request)
        if self.lose_next:
            self.lose_next = False
            raise GatewayUnavailable("The answer was lost (dropped by the test)")
        return made


def stripe_test_mode_processor(secret_key: str, publishable_key: str) -> Processor:
    """Stripe's real test mode (manage.py stripe_contract): its test PaymentMethods stand for the
    browser, a client that drops one answer stands for the network, events are signed locally with a
    webhook endpoint's secret Stripe made."""
    probe = StripeGateway(secret_key=secret_key, publishable_key=publishable_key)
    endpoint = probe.client.v1.webhook_endpoints.create(
        {
            "url": "https://invoicing.example/webhooks/stripe/contract/",
            "enabled_events": ["payment_intent.succeeded"],
        }
    )
    gateway = LosingStripeGateway(
        secret_key=secret_key, publishable_key=publishable_key, webhook_secret=endpoint.secret
    )
    numbers = {
        "4242424242424242": "pm_card_visa",
        "4000000000000341": "pm_card_chargeCustomerFail",
    }

    def save(number):
        setup = gateway.setup_start()
        gateway.client.v1.setup_intents.confirm(setup.reference, {"payment_method": numbers[number]})
        return gateway.setup_finish(setup.reference)

    def charges_with_key(key):
        return sum(
            1
            for intent in gateway.client.v1.payment_intents.list({"limit": 100}).data
            if (intent.metadata or {}).get("idempotency_key") == key
        )

    def signed_event(charge_id, timestamp=None):
        import hashlib
        import hmac

        intent = gateway.client.v1.payment_intents.retrieve(charge_id).to_dict()
        body = json.dumps(
            {
                "id": f"evt_contract_{time.monotonic_ns()}",
                "object": "event",
                "type": "payment_intent.succeeded",
                "data": {"object": intent},
            }
        ).encode()
        timestamp = int(time.time()) if timestamp is None else timestamp
        digest = hmac.new(
            endpoint.secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
        ).hexdigest()
        return body, {"Stripe-Signature": f"t={timestamp},v1={digest}"}

    def hard_declining():
        pytest.skip("Stripe's test cards for hard declines (lost, stolen) can't be saved to a customer")

    return Processor(
        gateway=gateway,
        save=save,
        declining="4000000000000341",
        hard_declining=hard_declining,
        lose_next_answers=lambda: setattr(gateway, "lose_next", True),
        charges_with_key=charges_with_key,
        signed_event=signed_event,
    )


# manage.py stripe_contract sets these to run the contract against Stripe's real test mode too.
TEST_MODE_KEYS = (
    os.environ.get("STRIPE_CONTRACT_SECRET_KEY", ""),
    os.environ.get("STRIPE_CONTRACT_PUBLISHABLE_KEY", ""),
)


@pytest.fixture(params=["sandbox", "stripe", *(["stripe-test-mode"] if TEST_MODE_KEYS[0] else [])])
def processor(request) -> Processor:
    if request.param == "sandbox":
        return sandbox_processor()
    if request.param == "stripe-test-mode":
        return stripe_test_mode_processor(*TEST_MODE_KEYS)
    return stripe_processor(request.getfixturevalue("stripe_double"))


def charge(processor, token, key, amount=1_000):
    return processor.gateway.charge(token=token, amount=amount, currency="usd", idempotency_key=key)


def test_save_a_card_entered_in_the_browser(processor):
    saved = processor.save("4242424242424242")
    assert (saved.kind, saved.last4, saved.brand, saved.exp_month, saved.exp_year) == (
        MethodKind.CARD, "4242", "Visa", 12, 2034,
    )  # fmt: skip
    assert "4242424242424242" not in saved.token


def test_a_charge_succeeds_and_is_read_back(processor):
    token = processor.save("4242424242424242").token
    made = charge(processor, token, "contract-ok", amount=1234)
    assert (made.status, made.amount, made.currency, made.idempotency_key) == (
        ChargeStatus.SUCCEEDED, 1234, "USD", "contract-ok",
    )  # fmt: skip
    again = processor.gateway.get_charge(made.id)
    assert (again.id, again.status, again.idempotency_key) == (made.id, ChargeStatus.SUCCEEDED, "contract-ok")


def test_a_decline_is_a_failed_charge_that_may_be_retried(processor):
    token = processor.save(processor.declining).token
    made = charge(processor, token, "contract-decline")
    assert made.status == ChargeStatus.FAILED
    assert made.message
    assert not made.hard_decline


def test_a_hard_decline_says_never_again(processor):
    made = charge(processor, processor.hard_declining(), "contract-hard")
    assert (made.status, made.decline_code, made.hard_decline) == (ChargeStatus.FAILED, "lost_card", True)


def test_a_lost_answer_is_unknown_and_found_by_its_key(processor):
    started = timezone.now()
    processor.lose_next_answers()
    token = processor.save("4242424242424242").token
    with pytest.raises(GatewayUnavailable):
        charge(processor, token, "contract-lost")
    found = processor.gateway.find_charge("contract-lost", token=token, since=started)
    assert found is not None
    assert (found.status, found.idempotency_key) == (
        ChargeStatus.SUCCEEDED,
        "contract-lost",
    )
    assert processor.gateway.find_charge("never-sent", token=token, since=started) is None
    assert processor.charges_with_key("contract-lost") == 1


def test_the_same_key_charges_once(processor):
    token = processor.save("4242424242424242").token
    first = charge(processor, token, "contract-replay")
    assert charge(processor, token, "contract-replay").id == first.id
    assert processor.charges_with_key("contract-replay") == 1
    with pytest.raises(GatewayError):
        charge(processor, token, "contract-replay", amount=2_000)  # the key, for another charge
    assert processor.charges_with_key("contract-replay") == 1


def test_refunds_full_partial_and_never_more_than_the_charge(processor):
    token = processor.save("4242424242424242").token
    made = charge(processor, token, "contract-refund", amount=1_000)
    partial = processor.gateway.refund(charge_id=made.id, amount=300, idempotency_key="cr-1")
    assert partial.amount == 300
    assert processor.gateway.refund(charge_id=made.id, amount=300, idempotency_key="cr-1").id == partial.id
    with pytest.raises(GatewayError):
        processor.gateway.refund(charge_id=made.id, amount=701, idempotency_key="cr-2")
    assert processor.gateway.refund(charge_id=made.id, amount=700, idempotency_key="cr-3").amount == 700
    assert processor.gateway.get_charge(made.id).amount_refunded == 1_000
    with pytest.raises(GatewayError):
        processor.gateway.refund(charge_id=made.id, amount=1, idempotency_key="cr-4")
    whole = charge(processor, token, "contract-refund-all", amount=500)
    assert processor.gateway.refund(charge_id=whole.id, amount=500, idempotency_key="cr-5").amount == 500


def test_webhooks_are_verified_and_read(processor):
    made = charge(processor, processor.save("4242424242424242").token, "contract-webhook")
    body, headers = processor.signed_event(made.id)
    event = processor.gateway.parse_webhook(body, headers)
    assert event.charge_id == made.id
    assert event.id
    assert processor.gateway.parse_webhook(body, headers).id == event.id  # a redelivery: the same id
    with pytest.raises(WebhookInvalid):
        processor.gateway.parse_webhook(body.replace(made.id.encode(), b"ch_forged"), headers)
    with pytest.raises(WebhookInvalid):
        processor.gateway.parse_webhook(body, {})
    stale_body, stale_headers = processor.signed_event(made.id, timestamp=int(time.time()) - 3600)
    with pytest.raises(WebhookInvalid):
        processor.gateway.parse_webhook(stale_body, stale_headers)


def test_a_card_number_is_never_taken_by_the_server(processor):
    from payments.gateways.base import CardDetails

    if isinstance(processor.gateway, SandboxGateway):
        with pytest.raises(MethodRejected):
            processor.gateway.setup_finish(f"card:{number_digest('4111111111111111')}:12:2034")
    else:
        with pytest.raises(MethodRejected):
            processor.gateway.save_method(CardDetails("4242424242424242", 12, 2034, "123"))
