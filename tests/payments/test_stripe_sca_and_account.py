"""What Stripe says besides yes and no: an off-session charge the bank wants authenticated waits for the
customer (never retried blindly), and an account Stripe disables or disconnects pauses automatic
charging until it is back."""

import datetime

import pytest
from django.core import mail
from django.utils import timezone
from django_scopes import scopes_disabled

from invoicing.models import EventKind, InvoiceStatus, PaymentOption
from payments import jobs
from payments.gateways.base import ChargeStatus
from payments.gateways.stripe.gateway import StripeGateway
from payments.models import AttemptStatus, ProcessorAccount, ProcessorStatus
from payments.services import webhook_receive
from tests.factories.invoicing import customer_for, make_invoice
from tests.factories.payments import connect_stripe, stripe_card_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def stripe_api(settings, stripe_double):
    settings.STRIPE_API_BASE = stripe_double.url
    return stripe_double


def test_a_charge_needing_authentication_waits_for_the_customer(stripe_api, partner):
    connect_stripe(partner, stripe_api)
    customer = customer_for(partner)
    stripe_card_for(customer, stripe_api, "4000002760003184")  # the bank asks every time
    mail.outbox.clear()
    invoice = make_invoice(partner, customer=customer, payment_option=PaymentOption.CHARGE_NOW)
    with scopes_disabled():
        [attempt] = invoice.attempts.all()
        invoice.refresh_from_db()
        stopped = invoice.events.filter(kind=EventKind.COLLECTION_STOPPED).last()
    assert (attempt.status, attempt.decline_code, attempt.hard_decline) == (
        AttemptStatus.FAILED, "authentication_required", False,
    )  # fmt: skip
    assert invoice.status == InvoiceStatus.OPEN
    assert invoice.next_charge_at is None  # no blind retry
    assert stopped.message.startswith("Waiting for the customer")
    [alert] = [m for m in mail.outbox if m.subject.startswith("Charge failed")]
    assert "confirm this payment" in alert.body


def test_stripes_authentication_required_decline_is_not_a_decline(stripe_api):
    keys = stripe_api.account()
    gateway = StripeGateway(
        secret_key=keys["secret_key"], publishable_key=keys["publishable_key"], api_base=stripe_api.url
    )
    setup = gateway.setup_start()
    stripe_api.confirm_setup(setup, "4242424242424242")
    saved = gateway.setup_finish(setup.reference)
    stripe_api.decline(saved.token.split("/")[1], "authentication_required")  # Stripe's off-session answer
    charge = gateway.charge(token=saved.token, amount=1_000, currency="usd", idempotency_key="sca-402")
    assert charge.status == ChargeStatus.REQUIRES_ACTION


def test_an_account_stripe_disables_pauses_automatic_charging_until_it_is_back(stripe_api, partner):
    keys = connect_stripe(partner, stripe_api)
    customer = customer_for(partner)
    stripe_card_for(customer, stripe_api)
    invoice = make_invoice(
        partner, customer=customer, payment_option=PaymentOption.CHARGE_ON_DUE_DATE, due_in_days=0
    )
    with scopes_disabled():
        account = ProcessorAccount.objects.get(partner=partner)
    later = timezone.now() + datetime.timedelta(days=1)

    stripe_api.update_account(keys["id"], charges_enabled=False)
    body, headers = stripe_api.event(
        keys["id"], "account.updated", object={"id": keys["id"], "object": "account"}
    )
    assert webhook_receive(body=body, headers=headers, account=account) == "paused"
    assert jobs.charge_due_invoices(now=later) == 0
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN
    assert invoice.next_charge_at is not None

    stripe_api.update_account(keys["id"], charges_enabled=True)
    body, headers = stripe_api.event(
        keys["id"], "account.updated", object={"id": keys["id"], "object": "account"}
    )
    assert webhook_receive(body=body, headers=headers, account=account) == "resumed"
    assert jobs.charge_due_invoices(now=later) == 1
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID


def test_a_deauthorized_account_is_disconnected_and_says_so(stripe_api, partner, owner_client):
    keys = connect_stripe(partner, stripe_api, name="Northwind")
    with scopes_disabled():
        account = ProcessorAccount.objects.get(partner=partner)
    body, headers = stripe_api.event(
        keys["id"], "account.application.deauthorized", object={"id": "ca_x", "object": "application"}
    )
    assert webhook_receive(body=body, headers=headers, account=account) == "disconnected"
    account.refresh_from_db()
    assert account.status == ProcessorStatus.DISCONNECTED
    assert account.secret_key_encrypted == ""
    page = owner_client.get("/settings/payments/").content.decode()
    assert "Stripe is disconnected" in page
    assert "automatic charges are paused" in page


def test_stripe_minimum_and_three_decimal_amounts():
    gateway = StripeGateway(secret_key="sk_test_x")
    assert gateway.amount_refusal(49, "usd") is not None
    assert gateway.amount_refusal(50, "usd") is None
    assert gateway.amount_refusal(1_005, "kwd") is not None
    assert gateway.amount_refusal(1_010, "kwd") is None


def test_an_amount_stripe_cannot_charge_is_refused_when_the_invoice_is_made(
    stripe_api, partner, owner_client
):
    from django.urls import reverse

    from invoicing.models import Invoice
    from tests.invoicing.test_invoice_pages import form_data

    connect_stripe(partner, stripe_api)
    customer = customer_for(partner)
    response = owner_client.post(
        reverse("invoice_create"), form_data(partner, customer=customer.pk, amount="0.40")
    )
    assert response.status_code == 200
    assert "Stripe can&#x27;t charge less than 50 USD minor units" in response.content.decode()
    with scopes_disabled():
        assert not Invoice.objects.filter(partner=partner).exists()
    response = owner_client.post(
        reverse("invoice_create"), form_data(partner, customer=customer.pk, amount="0.50")
    )
    assert response.status_code == 302
