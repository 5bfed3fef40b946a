"""Numbers a person (or an attacker) can type into Create invoice, its totals preview, Add recurring
payment and the money forms of the invoice page: beyond the column (999999999.9999), exponents, huge
and non-finite literals. Never a 500: the message is beside the field and what was typed stays."""

import datetime
import html

import pytest
from django.urls import reverse
from django_scopes import scope

from invoicing.models import CreditNote, Invoice, RecurringSchedule
from payments.models import Payment
from tests.factories.invoicing import customer_for, make_invoice

pytestmark = pytest.mark.django_db

HOSTILE = ["999999999.9999", "1e400", "9" * 30, "-1e400", "1e-400", "Infinity", "-inf", "NaN", "sNaN", "٣"]


def lines(quantity="1", unit_price="10.00", tax_rate="0") -> dict:
    return {
        "line-TOTAL_FORMS": "1",
        "line-INITIAL_FORMS": "0",
        "line-0-description": "Item",
        "line-0-quantity": quantity,
        "line-0-unit_price": unit_price,
        "line-0-tax_rate": tax_rate,
    }


def invoice_data(partner, customer, **fields) -> dict:
    return {
        "customer": customer.pk,
        "due_date": (partner.today() + datetime.timedelta(days=14)).isoformat(),
        "currency": "USD",
        "payment_option": "charge_later",
        "action": "create",
        **fields,
    }


def recurring_data(partner, customer, **fields) -> dict:
    return {
        "customer": customer.pk,
        "currency": "USD",
        "payment_option": "charge_later",
        "frequency": "monthly",
        "start_date": partner.today().isoformat(),
        "end_mode": "never",
        "days_until_due": "14",
        "action": "save",
        **fields,
    }


def refused_beside(body: str, name: str, typed: str) -> None:
    """An error is written beside the field `name`, and the field still holds what was typed."""
    assert 'class="error"' in body
    assert f'name="{name}" value="{html.escape(typed)}"' in body


@pytest.mark.parametrize("typed", HOSTILE)
@pytest.mark.parametrize("field", ["quantity", "unit_price", "tax_rate"])
def test_create_invoice_refuses_impossible_numbers_beside_the_line_field(owner_client, partner, field, typed):
    customer = customer_for(partner)
    response = owner_client.post(
        reverse("invoice_create"), invoice_data(partner, customer, **lines(**{field: typed}))
    )
    assert response.status_code == 200
    refused_beside(response.content.decode(), f"line-0-{field}", typed)
    with scope(partner=partner):
        assert not Invoice.objects.exists()


@pytest.mark.parametrize("typed", HOSTILE)
def test_create_invoice_refuses_an_impossible_amount_beside_it(owner_client, partner, typed):
    customer = customer_for(partner)
    data = invoice_data(
        partner, customer, amount=typed, **{"line-TOTAL_FORMS": "0", "line-INITIAL_FORMS": "0"}
    )
    response = owner_client.post(reverse("invoice_create"), data)
    assert response.status_code == 200
    refused_beside(response.content.decode(), "amount", typed)


@pytest.mark.parametrize("typed", HOSTILE)
@pytest.mark.parametrize("field", ["quantity", "unit_price", "tax_rate"])
def test_the_totals_preview_leaves_out_a_row_it_cannot_read(owner_client, partner, field, typed):
    params = {"part": "totals", "currency": "USD", **lines(**{field: typed})}
    params["line-TOTAL_FORMS"] = "2"
    params.update({"line-1-description": "Fine", "line-1-quantity": "2", "line-1-unit_price": "5.00"})
    response = owner_client.get(reverse("invoice_form_preview"), params, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert 'data-total="total">$10.00<' in response.content.decode()  # only the readable row


@pytest.mark.parametrize("typed", HOSTILE)
@pytest.mark.parametrize("field", ["quantity", "unit_price", "tax_rate"])
def test_add_recurring_payment_refuses_impossible_numbers_beside_the_field(
    owner_client, partner, field, typed
):
    customer = customer_for(partner)
    data = recurring_data(partner, customer, **lines(**{field: typed}))
    response = owner_client.post(reverse("recurring_create"), data)
    assert response.status_code == 200
    refused_beside(response.content.decode(), f"line-0-{field}", typed)
    with scope(partner=partner):
        assert not RecurringSchedule.objects.exists()


def test_the_largest_quantity_the_column_holds_is_taken_and_one_more_digit_is_refused(owner_client, partner):
    customer = customer_for(partner)
    url = reverse("invoice_create")
    body = owner_client.post(
        url, invoice_data(partner, customer, **lines("1000000000", "0.01"))
    ).content.decode()
    assert "The quantity must be less than 1,000,000,000." in body
    response = owner_client.post(url, invoice_data(partner, customer, **lines("999999999.999", "0.01")))
    assert response.status_code == 302
    with scope(partner=partner):
        assert Invoice.objects.get().total == 1_000_000_000  # 999,999,999.999 x 1 cent, rounded half-up


@pytest.mark.parametrize("typed", [*HOSTILE, "99999999999999.99"])
@pytest.mark.parametrize(
    ("url_name", "fields", "model"),
    [
        ("invoice_record_payment", {"method": "check"}, Payment),
        ("invoice_credit_note", {"reason": "Goodwill"}, CreditNote),
    ],
)
def test_money_forms_of_the_invoice_page_refuse_impossible_amounts(
    owner_client, partner, typed, url_name, fields, model
):
    invoice = make_invoice(partner)
    data = {
        "amount": typed,
        "received_on": partner.today().isoformat(),
        "idempotency_key": "0" * 32,
        **fields,
    }
    response = owner_client.post(reverse(url_name, args=[invoice.pk]), data)
    assert response.status_code == 200
    refused_beside(response.content.decode(), "amount", typed)
    with scope(partner=partner):
        assert not model.objects.exists()
