"""Each partner collects into its own processor account: Settings -> Payments connects Stripe (keys
checked live, account shown, secrets encrypted and never shown again), disconnects, reconnects; charges
land in the partner's own account."""

import pytest
from django.core.management import call_command
from django_scopes import scope, scopes_disabled

from core import encryption
from partners.models import AuditEvent, Role
from payments.gateways import get_gateway
from payments.models import AttemptStatus, AttemptTrigger, ProcessorAccount, ProcessorStatus
from payments.services import charge_invoice, webhook_receive
from tests.conftest import client_for, member_of
from tests.factories.invoicing import customer_for, make_invoice
from tests.factories.payments import connect_stripe, stripe_card_for

URL = "/settings/payments/"


@pytest.fixture
def stripe_api(settings, stripe_double):
    settings.STRIPE_API_BASE = stripe_double.url
    settings.STRIPE_TIMEOUT_SECONDS = 5
    return stripe_double


connect = connect_stripe


def test_a_partner_connects_stripe_sees_the_account_and_never_its_secret(stripe_api, partner, owner_client):
    keys = stripe_api.account(name="Northwind IT LLC", country="GB", default_currency="gbp")
    page = owner_client.post(
        URL,
        {"action": "connect", "secret_key": keys["secret_key"], "publishable_key": keys["publishable_key"]},
    )
    assert page.status_code == 302
    page = owner_client.get(URL)
    text = page.content.decode()
    assert "Stripe is connected" in text
    assert "Northwind IT LLC" in text
    assert "GBP" in text
    assert keys["id"] in text
    assert keys["secret_key"] not in text
    with scopes_disabled():
        account = ProcessorAccount.objects.get(partner=partner)
        assert keys["secret_key"] not in account.secret_key_encrypted
        assert encryption.decrypt(account.secret_key_encrypted) == keys["secret_key"]
        assert encryption.decrypt(account.webhook_secret_encrypted).startswith("whsec_")
        assert AuditEvent.objects.filter(partner=partner, message__contains=keys["id"]).exists()
    assert get_gateway(partner).name == "stripe"


def test_keys_stripe_refuses_are_an_error_next_to_the_field(stripe_api, partner, owner_client):
    keys = stripe_api.account()
    page = owner_client.post(
        URL,
        {
            "action": "connect",
            "secret_key": "sk_test_" + "x" * 24,
            "publishable_key": keys["publishable_key"],
        },
    )
    assert page.status_code == 400
    text = page.content.decode()
    assert "Stripe refused this key" in text
    assert keys["publishable_key"] in text
    assert "sk_test_xxxx" not in text  # except the secret
    page = owner_client.post(URL, {"action": "connect", "secret_key": "pk_live_nope", "publishable_key": ""})
    assert page.status_code == 400
    assert "starts with sk_test_" in page.content.decode()
    with scopes_disabled():
        assert not ProcessorAccount.objects.filter(partner=partner).exists()


def test_disconnect_forgets_the_keys_and_reconnect_works(stripe_api, partner, owner_client):
    connect(partner, stripe_api, name="First")
    assert owner_client.post(URL, {"action": "disconnect"}).status_code == 302
    with scopes_disabled():
        account = ProcessorAccount.objects.get(partner=partner)
    assert (account.status, account.secret_key_encrypted, account.webhook_secret_encrypted) == (
        ProcessorStatus.DISCONNECTED, "", "",
    )  # fmt: skip
    assert "Stripe is disconnected" in owner_client.get(URL).content.decode()
    assert get_gateway(partner).name == "sandbox"
    keys = stripe_api.account(name="Second")
    owner_client.post(
        URL,
        {"action": "connect", "secret_key": keys["secret_key"], "publishable_key": keys["publishable_key"]},
    )
    assert "Second" in owner_client.get(URL).content.decode()


def test_only_owners_and_admins_change_it(stripe_api, partner):
    member = client_for(member_of(partner, Role.MEMBER).user)
    assert member.get(URL).status_code == 200
    assert member.post(URL, {"action": "disconnect"}).status_code == 403


def test_two_partners_charges_land_in_their_own_accounts(
    stripe_api, partner, other_partner, django_capture_on_commit_callbacks
):
    mine, theirs = (
        connect(partner, stripe_api, name="Mine"),
        connect(other_partner, stripe_api, name="Theirs"),
    )
    charged = {}
    for who in (partner, other_partner):
        customer = customer_for(who)
        method = stripe_card_for(customer, stripe_api)
        invoice = make_invoice(who, customer=customer)
        with scope(partner=who), django_capture_on_commit_callbacks(execute=True):
            attempt = charge_invoice(
                invoice=invoice, method=method, trigger=AttemptTrigger.MANUAL, actor=None
            )
        with scopes_disabled():
            attempt.refresh_from_db()
        assert attempt.status == AttemptStatus.SUCCEEDED
        charged[who.pk] = attempt
    for who, keys in ((partner, mine), (other_partner, theirs)):
        ledger = stripe_api.ledger(keys["id"])["payment_intents"]
        assert [pi["id"] for pi in ledger] == [charged[who.pk].gateway_charge_id]
        assert ledger[0]["metadata"]["partner"] == str(who.pk)
        assert ledger[0]["metadata"]["idempotency_key"] == charged[who.pk].idempotency_key


def test_a_partners_webhook_is_checked_with_its_own_secret(
    stripe_api, partner, other_partner, client, django_capture_on_commit_callbacks
):
    keys = connect(partner, stripe_api)
    connect(other_partner, stripe_api)
    customer = customer_for(partner)
    method = stripe_card_for(customer, stripe_api)
    invoice = make_invoice(partner, customer=customer)
    with scope(partner=partner), django_capture_on_commit_callbacks(execute=True):
        attempt = charge_invoice(invoice=invoice, method=method, trigger=AttemptTrigger.MANUAL, actor=None)
    with scopes_disabled():
        attempt.refresh_from_db()
        mine, other = (ProcessorAccount.objects.get(partner=p) for p in (partner, other_partner))
    body, headers = stripe_api.event(
        keys["id"], "payment_intent.succeeded", collection="payment_intents", id=attempt.gateway_charge_id
    )
    assert webhook_receive(body=body, headers=headers, account=mine) == "applied"
    assert webhook_receive(body=body, headers=headers, account=mine) == "duplicate"
    from payments.gateways.base import WebhookInvalid

    with pytest.raises(WebhookInvalid):
        webhook_receive(body=body, headers=headers, account=other)
    assert (
        client.post("/webhooks/stripe/not-a-token/", body, content_type="application/json").status_code == 404
    )


def test_stripe_connect_calls_carry_the_connected_account(
    stripe_api, settings, partner, django_capture_on_commit_callbacks
):
    platform = stripe_api.account(name="Hosted invoicing")
    connected = stripe_api.account(name="Harbour", platform=platform["id"])
    settings.STRIPE_CONNECT_SECRET_KEY = platform["secret_key"]
    with scopes_disabled():
        ProcessorAccount.objects.create(
            partner=partner,
            processor="stripe",
            connect_account_id=connected["id"],
            publishable_key=platform["publishable_key"],
        )
    assert get_gateway(partner).account().id == connected["id"]
    customer = customer_for(partner)
    method = stripe_card_for(customer, stripe_api)
    invoice = make_invoice(partner, customer=customer)
    with scope(partner=partner), django_capture_on_commit_callbacks(execute=True):
        charge_invoice(invoice=invoice, method=method, trigger=AttemptTrigger.MANUAL, actor=None)
    assert len(stripe_api.ledger(connected["id"])["payment_intents"]) == 1
    assert stripe_api.ledger(platform["id"])["payment_intents"] == []


def test_encryption_keys_rotate(stripe_api, settings, partner):
    keys = connect(partner, stripe_api)
    old = settings.ENCRYPTION_KEYS[0]
    settings.ENCRYPTION_KEYS = ["bmV3LWtleS1uZXcta2V5LW5ldy1rZXktbmV3LWtleXk=", old]
    call_command("rotate_encryption_keys")
    settings.ENCRYPTION_KEYS = settings.ENCRYPTION_KEYS[:1]  # the old key dropped
    with scopes_disabled():
        account = ProcessorAccount.objects.get(partner=partner)
    assert encryption.decrypt(account.secret_key_encrypted) == keys["secret_key"]


def test_a_key_that_may_not_create_webhooks_connects_and_the_partner_adds_the_endpoint_by_hand(
    stripe_api, partner, owner_client
):
    import html
    import re

    import stripe

    keys = stripe_api.account(name="Restricted Co", webhook_write=False)
    response = owner_client.post(
        URL,
        {"action": "connect", "secret_key": keys["secret_key"], "publishable_key": keys["publishable_key"]},
    )
    assert response.status_code == 302  # connecting does not fail
    page = owner_client.get(URL).content.decode()
    assert "Stripe is connected" in page
    assert "One more step: add the webhook endpoint in Stripe" in page
    assert "<code>charge.dispute.created</code>" in page
    url = html.unescape(re.search(r'<code class="copyable">([^<]+)</code>', page).group(1))
    assert "/webhooks/stripe/" in url

    # In Stripe's Dashboard (a person, not this key), the partner adds the endpoint and copies its secret.
    stripe_api.update_account(keys["id"], webhook_write=True)
    sdk = stripe.StripeClient(keys["secret_key"], base_addresses={"api": stripe_api.url})
    endpoint = sdk.v1.webhook_endpoints.create({"url": url, "enabled_events": ["account.updated"]})
    path = url.split("://", 1)[1].split("/", 1)[1]
    body, headers = stripe_api.event(
        keys["id"], "account.updated", object={"id": keys["id"], "object": "account"}
    )
    sent = {"HTTP_STRIPE_SIGNATURE": headers["Stripe-Signature"]}
    assert owner_client.post(f"/{path}", body, content_type="application/json", **sent).status_code == 400

    bad = owner_client.post(URL, {"action": "webhook_secret", "signing_secret": "sk_test_nope"})
    assert bad.status_code == 400
    assert "it starts with whsec_" in bad.content.decode()
    saved = owner_client.post(URL, {"action": "webhook_secret", "signing_secret": endpoint.secret})
    assert saved.status_code == 302
    assert endpoint.secret not in owner_client.get(URL).content.decode()
    answer = owner_client.post(f"/{path}", body, content_type="application/json", **sent)
    assert (answer.status_code, answer.content) == (200, b"resumed")
    with scopes_disabled():
        account = ProcessorAccount.objects.get(partner=partner)
    assert account.webhook_endpoint_id == ""
    assert encryption.decrypt(account.webhook_secret_encrypted) == endpoint.secret
