"""The partner's payment pages: saved methods and Auto-Pay on the customer page, charging and refunding
on the invoice page, the Needs attention list and the retry settings. Charges go to the sandbox gateway,
whose own books (SandboxCharge, SandboxRefund) say what was really charged."""

import datetime
import logging
import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from core.idempotency import new_key
from customers.models import PaymentMethod
from invoicing.models import Invoice, InvoiceStatus, PaymentOption
from partners.models import Role
from payments.gateways.base import CardDetails
from payments.gateways.sandbox.models import SandboxCharge, SandboxRefund
from payments.models import AttemptStatus, CustomerCredit, Payment, PaymentAttempt, Refund
from payments.services import payment_method_add
from tests.conftest import client_for, member_of
from tests.factories import PartnerFactory
from tests.factories.invoicing import customer_for, make_invoice
from tests.factories.payments import card_reference

pytestmark = pytest.mark.django_db

CARD_OK = "4242424242424242"
CARD_INSUFFICIENT = "4000000000009995"
CARD_LOST = "4000000000009987"


def field_error(body: str, field: str) -> str:
    match = re.search(rf'<p class="error" id="id_{re.escape(field)}_error">([^<]*)</p>', body)
    return match.group(1) if match else ""


def input_tag(body: str, name: str) -> str:
    match = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', body)
    assert match, f"no input {name}"
    return match.group(0)


def hidden_value(body: str, name: str) -> str:
    return re.search(r'value="([^"]*)"', input_tag(body, name)).group(1)


def checked_option(body: str) -> str:
    return re.search(r'name="payment_option" value="(\w+)"[^>]* checked', body).group(1)


def save_card(customer, number=CARD_OK, make_default=True) -> PaymentMethod:
    with scope(partner=customer.partner):
        return payment_method_add(
            customer=customer,
            details=CardDetails(number=number, exp_month=12, exp_year=2035, cvc="123", name="Ada"),
            make_default=make_default,
        )


def sandbox_charges() -> int:
    return SandboxCharge.objects.using("sandbox").count()


@pytest.fixture
def customer(partner):
    return customer_for(partner, name="Ada Lovelace", company="Analytical Engines")


# Adding a payment method -----------------------------------------------------------------------------


def add_card(client, customer, number=CARD_OK, month=12, year=2030, **fields):
    """As the page does: the card script turns the number into a reference; only that is posted."""
    data = {"kind": "card", "name": "Ada Lovelace", "method_reference": card_reference(number, month, year)}
    return client.post(reverse("payment_method_add", args=[customer.pk]), {**data, **fields})


def test_the_card_page_asks_the_processor_for_its_fields(owner_client, customer):
    body = owner_client.get(reverse("payment_method_add", args=[customer.pk])).content.decode()
    assert 'class="card-entry" data-processor="sandbox"' in body
    assert 'name="card_number"' not in body
    assert 'name="cvc"' not in body
    assert card_reference().split(":")[1] in body  # the test numbers the script accepts, as digests
    assert 'name="method_reference"' in body


def test_a_card_is_saved_with_only_brand_last4_and_expiry(owner_client, customer, caplog, unscoped):
    caplog.set_level(logging.DEBUG)
    response = add_card(owner_client, customer, month=4, year=2031)
    assert response.status_code == 302
    method = PaymentMethod.objects.get(customer=customer)
    assert (method.brand, method.last4, method.exp_month, method.exp_year, method.is_default) == (
        "Visa",
        "4242",
        4,
        2031,
        True,
    )
    page = owner_client.get(response.url).content.decode()
    assert "Visa •••• 4242 saved for Analytical Engines." in page
    assert "Expires 04/2031" in page
    stored = [str(value) for row in PaymentMethod.objects.values() for value in row.values()]
    assert not any(CARD_OK in value for value in stored)
    assert CARD_OK not in caplog.text
    assert "4242 4242" not in caplog.text


def test_a_bank_account_is_saved_and_its_number_is_not_kept(owner_client, customer, unscoped):
    response = owner_client.post(
        reverse("payment_method_add", args=[customer.pk]),
        {
            "kind": "bank_account",
            "holder_name": "Ada Lovelace",
            "routing_number": "110000000",
            "account_number": "000123456789",
            "account_type": "savings",
        },
    )
    assert response.status_code == 302
    method = PaymentMethod.objects.get(customer=customer)
    assert (method.kind, method.bank_name, method.last4) == ("bank_account", "Sandbox Bank", "6789")
    stored = [str(value) for row in PaymentMethod.objects.values() for value in row.values()]
    assert not any("000123456789" in value for value in stored)


def test_a_card_the_processor_refuses_is_an_error_at_the_card_and_the_name_is_kept(
    owner_client, customer, unscoped
):
    response = add_card(owner_client, customer, number="4242424242424241")
    body = response.content.decode()
    assert response.status_code == 200
    assert "This is test mode: use a test card such as 4242 4242 4242 4242." in body
    assert 'value="Ada Lovelace"' in input_tag(body, "name")  # what is not secret is kept
    assert "the card details were cleared" in body
    assert not PaymentMethod.objects.filter(customer=customer).exists()


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"method_reference": ""}, "method_reference", "Enter the card details."),
        (
            {"method_reference": "<script>"},
            "method_reference",
            "The card details did not come through. Enter them again.",
        ),
        ({"name": ""}, "name", "Enter the name on the card."),
    ],
)
def test_card_fields_are_checked_with_clear_messages(owner_client, customer, fields, field, message):
    body = add_card(owner_client, customer, **fields).content.decode()
    if field == "method_reference":  # shown in the card's own box
        assert message in body
    else:
        assert field_error(body, field) == message


def test_expiry_is_judged_in_the_partners_time_zone(unscoped):
    # 13:00 UTC on Apr 30, 2027 is already May 1 in Auckland, still Apr 30 in New York.
    with time_machine.travel(datetime.datetime(2027, 4, 30, 13, 0, tzinfo=datetime.UTC), tick=False):
        for zone, expected in [
            ("Pacific/Auckland", "This card expired at the end of 04/2027."),
            ("America/New_York", ""),
        ]:
            partner = PartnerFactory(timezone=zone)
            customer = customer_for(partner)
            client = client_for(member_of(partner, Role.OWNER).user)
            response = add_card(client, customer, month=4, year=2027)
            assert response.status_code == (200 if expected else 302), zone
            assert expected in response.content.decode(), zone
            assert PaymentMethod.objects.filter(customer=customer).exists() == (not expected)


def test_a_card_the_sandbox_refuses_is_a_form_error(owner_client, customer, caplog, unscoped):
    caplog.set_level(logging.DEBUG)
    body = add_card(owner_client, customer, number="4111 1111 1111 1111").content.decode()
    assert "This is test mode: use a test card such as 4242 4242 4242 4242." in body
    assert "4111" not in body
    assert not PaymentMethod.objects.filter(customer=customer).exists()


def test_the_routing_number_checksum_and_account_number_are_checked(owner_client, customer):
    data = {
        "kind": "bank_account",
        "holder_name": "Ada",
        "routing_number": "123456789",
        "account_number": "12",
        "account_type": "checking",
    }
    body = owner_client.post(reverse("payment_method_add", args=[customer.pk]), data).content.decode()
    assert field_error(body, "routing_number") == "That routing number is not valid; check the 9 digits."
    assert field_error(body, "account_number") == "An account number has 4 to 17 digits."
    assert 'value="123456789"' in input_tag(body, "routing_number")
    assert "value=" not in input_tag(body, "account_number")
    assert "the account number was cleared" in body


def test_the_add_page_shows_test_numbers_and_the_test_mode_banner(owner_client, customer):
    body = owner_client.get(reverse("payment_method_add", args=[customer.pk])).content.decode()
    assert "Test mode</strong> — payments go to the sandbox gateway; no real money moves." in body
    assert "4000 0000 0000 9995</code> is declined (insufficient funds)" in body
    bank = owner_client.get(reverse("payment_method_add", args=[customer.pk]) + "?kind=bank_account")
    assert "000222222227</code> fails with return code R01" in bank.content.decode()


# Default, remove, Auto-Pay ---------------------------------------------------------------------------


def test_set_default_and_remove(owner_client, customer, unscoped):
    first = save_card(customer)
    second = save_card(customer, number="5555555555554444", make_default=False)
    url = reverse("payment_method_set_default", args=[customer.pk, second.pk])
    assert owner_client.post(url).status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.is_default, second.is_default) == (False, True)

    response = owner_client.post(reverse("payment_method_remove", args=[customer.pk, second.pk]), follow=True)
    assert "Mastercard •••• 4444 removed." in response.content.decode()
    first.refresh_from_db()
    assert first.is_default  # the one left takes over
    assert PaymentMethod.objects.get(pk=second.pk).removed_at is not None
    # A removed method is gone for these pages.
    assert (
        owner_client.post(reverse("payment_method_set_default", args=[customer.pk, second.pk])).status_code
        == 404
    )


def test_auto_pay_needs_a_method_and_makes_charge_on_due_date_the_default(owner_client, customer, unscoped):
    url = reverse("customer_autopay", args=[customer.pk])
    body = owner_client.post(url, {"enabled": "1"}, follow=True).content.decode()
    assert "Add a payment method first: Auto-Pay charges the default one on each due date." in body
    customer.refresh_from_db()
    assert not customer.autopay

    form = owner_client.get(reverse("invoice_create") + f"?customer={customer.pk}").content.decode()
    assert checked_option(form) == PaymentOption.CHARGE_LATER

    method = save_card(customer)
    body = owner_client.post(url, {"enabled": "1"}, follow=True).content.decode()
    assert "Auto-Pay is on for Analytical Engines" in body
    assert "Turn off Auto-Pay" in body
    form = owner_client.get(reverse("invoice_create") + f"?customer={customer.pk}").content.decode()
    assert checked_option(form) == PaymentOption.CHARGE_ON_DUE_DATE

    owner_client.post(reverse("payment_method_remove", args=[customer.pk, method.pk]))
    customer.refresh_from_db()
    assert not customer.autopay  # nothing left to charge


def test_picking_an_auto_pay_customer_via_htmx_switches_the_default_but_not_a_chosen_option(
    owner_client, partner, customer, unscoped
):
    save_card(customer)
    customer.autopay = True
    customer.save()
    preview = reverse("invoice_form_preview")
    picked = {"part": "customer", "customer": customer.pk, "payment_option_default": "charge_later"}
    body = owner_client.get(
        preview, {**picked, "payment_option": "charge_later"}, headers={"HX-Request": "true"}
    ).content.decode()
    assert 'hx-swap-oob="outerHTML:#payment-options"' in body
    assert checked_option(body) == PaymentOption.CHARGE_ON_DUE_DATE
    assert hidden_value(body, "payment_option_default") == "charge_on_due_date"
    # The person had picked Charge now themselves: it stays.
    body = owner_client.get(
        preview, {**picked, "payment_option": "charge_now"}, headers={"HX-Request": "true"}
    ).content.decode()
    assert checked_option(body) == PaymentOption.CHARGE_NOW
    # A bound form re-rendered without JavaScript ("Search") keeps an explicit pick too.
    data = {
        "customer": customer.pk,
        "due_date": (partner.today() + datetime.timedelta(days=7)).isoformat(),
        "currency": "USD",
        "payment_option": "email_payment_link",
        "payment_option_default": "charge_later",
        "action": "search",
    }
    body = owner_client.post(reverse("invoice_create"), data).content.decode()
    assert checked_option(body) == PaymentOption.EMAIL_PAYMENT_LINK


# Charging from the invoice page ----------------------------------------------------------------------


def charge(client, invoice, django_capture_on_commit_callbacks, **fields):
    """Open "Charge a saved payment method" (htmx fetches its form) and submit the form as drawn."""
    page = client.get(reverse("invoice_detail", args=[invoice.pk])).content.decode()
    form_url = reverse("invoice_action_form", args=[invoice.pk, "charge"])
    assert f'hx-get="{form_url}"' in page
    page = client.get(form_url, headers={"HX-Request": "true"}).content.decode()
    data = {
        "payment_method": re.search(r'<option value="(\d+)" selected', page).group(1),
        "amount": hidden_or_text(page, "amount"),
        "idempotency_key": hidden_value(page, "idempotency_key"),
        **fields,
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("invoice_charge", args=[invoice.pk]), data)
    return response, data


def hidden_or_text(page: str, name: str) -> str:
    return re.search(r'value="([^"]*)"', input_tag(page, name)).group(1)


def test_charge_a_saved_card_pays_the_invoice_and_a_double_submit_charges_once(
    owner_client, partner, customer, django_capture_on_commit_callbacks, unscoped
):
    save_card(customer)
    invoice = make_invoice(partner, customer=customer)
    response, data = charge(owner_client, invoice, django_capture_on_commit_callbacks)
    assert data["amount"] == "100.00"  # the amount due is the default
    assert len(data["idempotency_key"]) == 32
    assert response.status_code == 302
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, invoice.amount_due) == ("paid", 10_000, 0)
    attempt = PaymentAttempt.objects.get(invoice=invoice)
    assert (attempt.status, attempt.idempotency_key, attempt.trigger) == (
        "succeeded",
        data["idempotency_key"],
        "manual",
    )

    with django_capture_on_commit_callbacks(execute=True):
        again = owner_client.post(reverse("invoice_charge", args=[invoice.pk]), data, follow=True)
    assert "That form was already submitted; its result is below." in again.content.decode()
    assert sandbox_charges() == 1
    assert PaymentAttempt.objects.filter(invoice=invoice).count() == 1
    assert Payment.objects.get(invoice=invoice).amount == 10_000

    page = owner_client.get(reverse("invoice_detail", args=[invoice.pk])).content.decode()
    when = timezone.localtime(attempt.created_at, partner.zone)
    assert f"{when:%b} {when.day}, {when.year}, {when:%-I:%M} {when:%p}" in page  # partner's time zone
    assert "Charged by your team" in page
    assert "Visa •••• 4242, $100.00" in page  # timeline: payment recorded


def test_a_declined_charge_shows_the_reason_and_the_invoice_stays_open(
    owner_client, partner, customer, django_capture_on_commit_callbacks, unscoped
):
    save_card(customer, number=CARD_INSUFFICIENT)
    invoice = make_invoice(partner, customer=customer)
    response, _ = charge(owner_client, invoice, django_capture_on_commit_callbacks, amount="40")
    page = owner_client.get(response.url).content.decode()
    assert "The card has insufficient funds." in page
    assert '<span class="badge badge-danger">Failed</span>' in page
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_due) == ("open", 10_000)
    assert SandboxCharge.objects.using("sandbox").get().status == "failed"


def test_charging_more_than_is_due_is_refused_next_to_the_amount(
    owner_client, partner, customer, django_capture_on_commit_callbacks, unscoped
):
    save_card(customer)
    invoice = make_invoice(partner, customer=customer)
    response, data = charge(owner_client, invoice, django_capture_on_commit_callbacks, amount="100.01")
    body = response.content.decode()
    assert response.status_code == 200
    assert field_error(body, "charge_amount") == "That is more than the $100.00 still due."
    assert 'value="100.01"' in input_tag(body, "amount")
    assert hidden_value(body, "idempotency_key") == data["idempotency_key"]  # fixing it charges once
    assert sandbox_charges() == 0
    assert not PaymentAttempt.objects.filter(invoice=invoice).exists()


def test_a_live_attempt_shows_a_polling_status_line(owner_client, partner, customer, unscoped):
    method = save_card(customer)
    invoice = make_invoice(partner, customer=customer)
    PaymentAttempt.objects.create(
        partner=partner,
        invoice=invoice,
        customer=customer,
        payment_method=method,
        method_label=str(method),
        gateway="sandbox",
        gateway_token=method.gateway_token,
        amount=10_000,
        currency="USD",
        trigger="manual",
    )
    page = owner_client.get(reverse("invoice_detail", args=[invoice.pk])).content.decode()
    status = re.search(r'<div id="payment-status"[^>]*>', page).group(0)
    assert 'hx-trigger="every 2s"' in status
    assert "Charging Visa •••• 4242…" in page
    url = reverse("invoice_payment_status", args=[invoice.pk])
    assert owner_client.get(url, headers={"HX-Request": "true"}).get("HX-Refresh") is None
    PaymentAttempt.objects.filter(invoice=invoice).update(status=AttemptStatus.FAILED)
    done = owner_client.get(url, headers={"HX-Request": "true"})
    assert done["HX-Refresh"] == "true"  # the outcome is in: reload the page to show it
    assert "every 2s" not in done.content.decode()


def test_a_hard_decline_on_charge_now_needs_attention(
    owner_client, partner, customer, django_capture_on_commit_callbacks, unscoped
):
    save_card(customer, number=CARD_LOST)
    with django_capture_on_commit_callbacks(execute=True):
        invoice = make_invoice(partner, customer=customer, payment_option=PaymentOption.CHARGE_NOW)
    make_invoice(partner, customer=customer)  # open, fine: not listed
    invoice.refresh_from_db()
    assert invoice.collection_failed_at is not None

    page = owner_client.get(reverse("invoice_detail", args=[invoice.pk])).content.decode()
    assert "Automatic charging stopped" in page
    assert "The card was reported lost." in page
    dashboard = owner_client.get(reverse("dashboard")).content.decode()
    assert re.search(r"<strong>1</strong> invoice whose last charge failed", dashboard)
    listed = owner_client.get(reverse("invoice_list") + "?tab=attention").content.decode()
    assert listed.count(f'href="/invoices/{invoice.pk}/"') == 1
    assert len(re.findall(r'href="/invoices/\d+/"', listed)) == 1
    customer_page = owner_client.get(reverse("customer_detail", args=[customer.pk])).content.decode()
    assert "Invoices needing attention" in customer_page


def test_a_soft_decline_on_charge_now_shows_the_retry_in_the_partners_time_zone(
    owner_client, partner, customer, django_capture_on_commit_callbacks, unscoped
):
    save_card(customer, number=CARD_INSUFFICIENT)
    with django_capture_on_commit_callbacks(execute=True):
        invoice = make_invoice(partner, customer=customer, payment_option=PaymentOption.CHARGE_NOW)
    invoice.refresh_from_db()
    local = timezone.localtime(invoice.next_charge_at, partner.zone)
    assert (local.hour, local.minute) == (0, 0)  # midnight where the partner is
    page = owner_client.get(reverse("invoice_detail", args=[invoice.pk])).content.decode()
    assert f"A retry is scheduled</strong> for {local:%b} {local.day}, {local.year}, 12:00 AM" in page


# Offline payments and customer credit ----------------------------------------------------------------


def test_an_overpayment_kept_as_credit_shows_on_the_customer(owner_client, partner, customer, unscoped):
    invoice = make_invoice(partner, customer=customer)
    url = reverse("invoice_record_payment", args=[invoice.pk])
    data = {
        "amount": "150.00",
        "method": "check",
        "received_on": partner.today().isoformat(),
        "reference": "#12",
        "idempotency_key": new_key(),  # made when the page drew the form
    }
    body = owner_client.post(url, data).content.decode()
    assert "Keep the extra as customer credit" in field_error(body, "payment_amount")
    assert owner_client.post(url, {**data, "keep_excess_as_credit": "on"}).status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert CustomerCredit.objects.get(customer=customer).amount == 5_000
    page = owner_client.get(reverse("customer_detail", args=[customer.pk])).content.decode()
    assert "Credit in USD</dt><dd>$50.00" in page


# Refunds (the view commits before calling the gateway, so these run outside a test transaction) ------


@pytest.mark.django_db(transaction=True)
def test_refund_a_card_payment_and_an_over_refund_is_refused(owner_client, partner, customer):
    with scopes_disabled():
        save_card(customer)
        invoice = make_invoice(partner, customer=customer, payment_option=PaymentOption.CHARGE_NOW)
        payment = Payment.objects.get(invoice=invoice)
    assert payment.gateway_charge_id
    page = owner_client.get(reverse("invoice_detail", args=[invoice.pk])).content.decode()
    prefix = f"refund-{payment.pk}"
    key = hidden_value(page, f"{prefix}-idempotency_key")
    assert "checked" in input_tag(page, f"{prefix}-reduce_amount_owed")  # a credit note by default
    url = reverse("invoice_refund", args=[invoice.pk, payment.pk])
    data = {f"{prefix}-amount": "150", f"{prefix}-reason": "", f"{prefix}-idempotency_key": key}
    body = owner_client.post(url, data).content.decode()
    assert field_error(body, f"{prefix}-reason") == "Say why, for the customer and your books."
    body = owner_client.post(url, {**data, f"{prefix}-reason": "Returned laptop"}).content.decode()
    assert (
        field_error(body, f"{prefix}-amount")
        == "That is more than the $100.00 of this payment that can be refunded."
    )
    assert 'value="Returned laptop"' in input_tag(body, f"{prefix}-reason")

    good = {
        **data,
        f"{prefix}-amount": "40",
        f"{prefix}-reason": "Returned laptop",
        f"{prefix}-reduce_amount_owed": "on",
    }
    response = owner_client.post(url, good, follow=True)
    assert "Refunded $40.00." in response.content.decode()
    owner_client.post(url, good)  # submitted twice: refunded once
    with scopes_disabled():
        refund = Refund.objects.get()
        invoice.refresh_from_db()
        assert invoice.credit_notes.count() == 1
    assert (refund.status, refund.amount, refund.reduce_amount_owed) == ("succeeded", 4_000, True)
    assert list(SandboxRefund.objects.using("sandbox").values_list("amount", flat=True)) == [4_000]
    assert (invoice.status, invoice.amount_paid, invoice.amount_refunded, invoice.amount_due) == (
        "paid",
        6_000,
        4_000,
        0,
    )
    assert "$40.00 (Returned laptop) — succeeded, with a credit note" in response.content.decode()


# Settings --------------------------------------------------------------------------------------------


def settings_data(**changes) -> dict:
    data = {
        "payment_terms_days": "30",
        "default_memo": "",
        "default_footer": "",
        "invoice_number_prefix": "INV-",
        "invoice_number_padding": "4",
        "credit_note_prefix": "CN-",
        "next_number": "1",
        "charge_retry_days": "3, 7, 14",
    }
    return {**data, **changes}


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("7, 3", "List the days in increasing order, each retry after the one before."),
        ("3, 3", "List the days in increasing order, each retry after the one before."),
        ("0, 5", "Each retry must be 1 to 60 days after the first try."),
        ("5, 61", "Each retry must be 1 to 60 days after the first try."),
        ("2.5", "Enter whole numbers of days separated by commas, like 3, 7, 14."),
        (", ".join(str(day) for day in range(1, 12)), "Enter at most 10 retries."),
    ],
)
def test_retry_schedule_is_validated(owner_client, partner, typed, message):
    response = owner_client.post(reverse("settings_invoicing"), settings_data(charge_retry_days=typed))
    body = response.content.decode()
    assert field_error(body, "charge_retry_days") == message
    assert f'value="{typed}"' in body
    partner.refresh_from_db()
    assert partner.charge_retry_days == [3, 7, 14]


def test_retry_schedule_and_uncollectible_setting_are_saved(owner_client, partner):
    page = owner_client.get(reverse("settings_invoicing")).content.decode()
    assert 'value="3, 7, 14"' in page
    data = settings_data(charge_retry_days="2 5, 9", mark_uncollectible_after_retries="on")
    assert owner_client.post(reverse("settings_invoicing"), data).status_code == 302
    partner.refresh_from_db()
    assert (partner.charge_retry_days, partner.mark_uncollectible_after_retries) == ([2, 5, 9], True)


# Roles -----------------------------------------------------------------------------------------------


def test_read_only_members_get_403_on_every_payment_action(partner, customer, unscoped):
    method = save_card(customer)
    invoice = make_invoice(partner, customer=customer)
    with scope(partner=partner):
        from payments.services import payment_record_offline

        payment = payment_record_offline(
            invoice=invoice, amount=500, method="check", received_on=partner.today(), actor=None
        )
    reader = client_for(member_of(partner, Role.READ_ONLY).user)
    urls = [
        reverse("payment_method_add", args=[customer.pk]),
        reverse("payment_method_set_default", args=[customer.pk, method.pk]),
        reverse("payment_method_remove", args=[customer.pk, method.pk]),
        reverse("customer_autopay", args=[customer.pk]),
        reverse("invoice_charge", args=[invoice.pk]),
        reverse("invoice_refund", args=[invoice.pk, payment.pk]),
        reverse("invoice_record_payment", args=[invoice.pk]),
    ]
    for url in urls:
        assert reader.post(url, {"enabled": "1", "name": "Ada"}).status_code == 403, url
    assert reader.get(reverse("invoice_detail", args=[invoice.pk])).status_code == 200
    assert PaymentMethod.objects.get(pk=method.pk).removed_at is None
    assert sandbox_charges() == 0
    assert Invoice.objects.get(pk=invoice.pk).amount_paid == 500
