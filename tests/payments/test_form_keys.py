"""Every form that moves money or issues a document carries the key made when it was drawn: one form
posted ten times at the same moment, on real connections (one per thread, as concurrent requests would
be), records one payment, one credit note, one refund or one charge, and the sandbox's ledger agrees with
the app's books."""

import html
import re

import pytest
from django.urls import reverse

from core.idempotency import ALREADY_SUBMITTED
from dashboard.views.invoice_detail import ACTION_FORMS
from invoicing.models import CreditNote, Invoice, PaymentOption
from payments.gateways.sandbox.models import SandboxCharge, SandboxRefund
from payments.models import Payment, PaymentAttempt, Refund, RefundStatus
from tests.concurrency import at_once
from tests.conftest import client_for
from tests.factories.invoicing import customer_for, make_invoice
from tests.factories.payments import card_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("unscoped")]

SUBMITS = 10


@pytest.fixture
def slow_gateway(settings):
    """A processor that takes 50 ms to answer, so the other submits arrive while the first is there."""
    settings.PAYMENT_GATEWAY_OPTIONS = {**settings.PAYMENT_GATEWAY_OPTIONS, "latency_ms": 50}


def drawn_form(client, invoice: Invoice, action: str) -> dict[str, str]:
    """The fields of one form of the invoice page as drawn (hidden key included), by its action URL:
    on the page itself, or in one of the Collect panel's forms, drawn when its panel opens."""
    pages = [reverse("invoice_detail", args=[invoice.pk])] + [
        reverse("invoice_action_form", args=[invoice.pk, name]) for name in ACTION_FORMS
    ]
    form = rf'<form[^>]*action="{re.escape(action)}".*?</form>'
    drawn = (re.search(form, client.get(url).content.decode(), re.S) for url in pages)
    match = next((found for found in drawn if found), None)
    assert match, f"no form posting to {action}"
    fields = {}
    for tag in re.findall(r"<input[^>]*>", match.group(0)):
        name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
        if name and 'type="checkbox"' not in tag:
            fields[name.group(1)] = html.unescape(value.group(1)) if value else ""
    for name, option in re.findall(
        r'<select[^>]*name="([^"]+)".*?<option value="([^"]*)"[^>]*selected', match.group(0), re.S
    ):
        fields[name] = option
    return fields


def post_at_once(user, url: str, data: dict) -> list[int]:
    """The same form data posted SUBMITS times at once, each from its own signed-in browser."""
    clients = iter([client_for(user) for _ in range(SUBMITS)])
    return at_once(SUBMITS, lambda: next(clients).post(url, data).status_code)


def key_of(data: dict) -> str:
    key = next(value for name, value in data.items() if name.endswith("idempotency_key"))
    assert re.fullmatch(r"[0-9a-f]{32}", key)  # made when the page was drawn
    return key


def test_record_payment_posted_ten_times_at_once_records_one_payment(partner, owner):
    invoice = make_invoice(partner)  # $100.00 due
    client = client_for(owner)
    url = reverse("invoice_record_payment", args=[invoice.pk])
    data = drawn_form(client, invoice, url) | {"amount": "40.00", "method": "check", "reference": "1001"}
    key = key_of(data)

    assert post_at_once(owner, url, data) == [302] * SUBMITS
    assert list(Payment.objects.values_list("amount", "idempotency_key")) == [(4_000, key)]
    invoice.refresh_from_db()
    assert (invoice.amount_paid, invoice.amount_due) == (4_000, 6_000)

    again = client.post(url, data, follow=True).content.decode()  # Back, and submit once more
    assert ALREADY_SUBMITTED in again
    assert Payment.objects.count() == 1
    # A form drawn afresh is another payment.
    second = drawn_form(client, invoice, url) | {"amount": "10.00", "method": "cash"}
    assert key_of(second) != key
    assert client.post(url, second).status_code == 302
    assert sorted(Payment.objects.values_list("amount", flat=True)) == [1_000, 4_000]


def test_a_credit_note_posted_ten_times_at_once_is_issued_once(partner, owner):
    invoice = make_invoice(partner)
    client = client_for(owner)
    url = reverse("invoice_credit_note", args=[invoice.pk])
    data = drawn_form(client, invoice, url) | {"amount": "25.00", "reason": "Goodwill"}
    key = key_of(data)

    assert post_at_once(owner, url, data) == [302] * SUBMITS
    assert list(CreditNote.objects.values_list("amount", "idempotency_key")) == [(2_500, key)]
    invoice.refresh_from_db()
    assert (invoice.amount_credited, invoice.amount_due) == (2_500, 7_500)


@pytest.mark.usefixtures("slow_gateway")
@pytest.mark.parametrize("amount", ["100.00", "30.00"], ids=["full", "partial"])
def test_a_refund_posted_ten_times_at_once_is_paid_out_and_recorded_once(partner, owner, amount):
    customer = customer_for(partner)
    card_for(customer)
    invoice = make_invoice(partner, customer=customer, payment_option=PaymentOption.CHARGE_NOW)
    payment = Payment.objects.get(invoice=invoice)
    client = client_for(owner)
    url = reverse("invoice_refund", args=[invoice.pk, payment.pk])
    prefix = f"refund-{payment.pk}"
    data = drawn_form(client, invoice, url) | {
        f"{prefix}-amount": amount,
        f"{prefix}-reason": "Double click",
        f"{prefix}-reduce_amount_owed": "on",
    }
    key = key_of(data)

    assert post_at_once(owner, url, data) == [302] * SUBMITS
    refund = Refund.objects.get()
    minor = int(amount.replace(".", ""))
    assert (refund.status, refund.amount, refund.idempotency_key) == (RefundStatus.SUCCEEDED, minor, key)
    # The processor's ledger and the app's books say the same.
    sandbox_refund = SandboxRefund.objects.using("sandbox").get()
    assert (sandbox_refund.refund_id, sandbox_refund.amount) == (refund.gateway_refund_id, minor)
    charge = SandboxCharge.objects.using("sandbox").get(charge_id=payment.gateway_charge_id)
    assert charge.amount_refunded == Payment.objects.get(pk=payment.pk).amount_refunded == minor
    invoice.refresh_from_db()
    assert invoice.amount_refunded == minor
    assert list(CreditNote.objects.values_list("amount", flat=True)) == [minor]


@pytest.mark.usefixtures("slow_gateway")
def test_a_charge_posted_ten_times_at_once_charges_once(partner, owner):
    customer = customer_for(partner)
    card_for(customer)
    invoice = make_invoice(partner, customer=customer)
    client = client_for(owner)
    url = reverse("invoice_charge", args=[invoice.pk])
    data = drawn_form(client, invoice, url)
    key = key_of(data)

    assert post_at_once(owner, url, data) == [302] * SUBMITS
    attempt = PaymentAttempt.objects.get()
    assert (attempt.idempotency_key, attempt.status, attempt.amount) == (key, "succeeded", 10_000)
    charge = SandboxCharge.objects.using("sandbox").get()
    assert (charge.idempotency_key, charge.amount) == (key, 10_000)
    assert list(Payment.objects.values_list("amount", flat=True)) == [10_000]
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == ("paid", 10_000)


@pytest.mark.parametrize("key", ["", "not-a-key", "0" * 31])
def test_a_form_without_its_key_is_refused_above_the_form_and_nothing_is_recorded(partner, owner, key):
    invoice = make_invoice(partner)
    client = client_for(owner)
    url = reverse("invoice_record_payment", args=[invoice.pk])
    data = drawn_form(client, invoice, url) | {"amount": "40.00", "method": "check", "idempotency_key": key}
    response = client.post(url, data)
    assert response.status_code == 200
    assert "This form is out of date. Reload the page and try again." in response.content.decode()
    assert not Payment.objects.exists()
