"""One precision for quantities from the form to the database, the page, the PDF and Duplicate: what is
shown is what is stored, what is stored is what was priced and charged, and a duplicate costs the same.
And the printed tax adds up: each rate's figure is that rate of its printed base."""

import datetime
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from django_scopes import scope
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import money
from invoicing import pdf
from invoicing.forms import LineForm
from invoicing.models import Invoice, InvoiceLine
from invoicing.services import InvoiceInput, LineInput, invoice_create, invoice_duplicate, lines_totals
from payments.portal.services import pay_link_issue
from reminders.emails import draw_invoice
from reminders.models import NotificationSettings
from tests.factories.invoicing import customer_for
from tests.invoicing.test_invoice_pages import form_data, line_rows

pytestmark = pytest.mark.django_db


def test_a_quantity_with_more_decimals_than_are_stored_is_refused_and_kept(owner_client, partner):
    customer = customer_for(partner)
    data = form_data(partner, customer=customer.pk) | line_rows(("Hours", "1.0005", "1000000.00", "0"))
    response = owner_client.post(reverse("invoice_create"), data)
    body = response.content.decode()
    assert response.status_code == 200
    assert "Quantities have at most 3 decimals." in body
    assert 'name="line-0-quantity" value="1.0005"' in body
    with scope(partner=partner):
        assert not Invoice.objects.exists()


def test_shown_stored_charged_and_duplicated_agree_on_the_issue_example(owner_client, partner):
    customer = customer_for(partner)
    data = form_data(partner, customer=customer.pk) | line_rows(("Hours", "1.001", "1000000.00", "0"))
    assert owner_client.post(reverse("invoice_create"), data).status_code == 302
    with scope(partner=partner):
        invoice = Invoice.objects.get()
        line = invoice.lines.get()
        assert (line.quantity, line.amount, invoice.total) == (Decimal("1.001"), 100_100_000, 100_100_000)
        copy = invoice_duplicate(invoice=invoice, actor=None)
        assert (copy.total, copy.lines.get().amount) == (100_100_000, 100_100_000)
    page = owner_client.get(reverse("invoice_detail", args=[invoice.pk])).content.decode()
    assert re.search(r">1\.001</td>.*?>\$1,000,000\.00</td>.*?>\$1,001,000\.00</td>", page, re.S)


typed_quantities = st.decimals(min_value="0.001", max_value="999999.999", places=3).map(
    lambda value: f"{value.normalize():f}"
)
unit_prices = st.integers(min_value=0, max_value=10**8)  # up to $1,000,000.00
tax_rates = st.sampled_from(["", "0", "5", "7.25", "8.25", "8.875", "20", "0.0001"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(typed_quantities, unit_prices, tax_rates), min_size=1, max_size=6))
def test_what_is_shown_stored_charged_and_duplicated_agree(partner, rows):
    rows = [*rows, ("1", 100, "")]  # an invoice must be for something
    typed = [
        LineForm(
            {"description": "Item", "quantity": q, "unit_price": money.format_plain(p, "USD"), "tax_rate": r},
            currency="USD",
        )
        for q, p, r in rows
    ]
    assert all(form.is_valid() for form in typed), [form.errors for form in typed]
    lines_typed = [LineInput(**form.cleaned_data) for form in typed]
    with scope(partner=partner):
        data = InvoiceInput(
            customer=customer_for(partner),
            due_date=partner.today() + datetime.timedelta(days=7),
            currency="USD",
            lines=lines_typed,
        )
        if lines_totals(lines_typed).total >= money.MAX_AMOUNT_MINOR:
            # Lines each within bounds can still add up to more than one invoice may hold: refused by
            # field, never stored.
            with pytest.raises(ValidationError) as refused:
                invoice_create(partner=partner, data=data, created_by=None, finalize=True)
            assert "amount" in refused.value.message_dict
            return
        invoice = invoice_create(partner=partner, data=data, created_by=None, finalize=True)
        invoice = Invoice.objects.get(pk=invoice.pk)  # as stored, not as held in memory
        lines = list(invoice.lines.all())
        shown = pdf._context(invoice)
        for form, line, printed in zip(typed, lines, shown["lines"], strict=True):
            assert line.quantity == form.cleaned_data["quantity"]  # stored as typed
            assert Decimal(printed["quantity"]) == line.quantity  # shown as stored
            assert line.amount == money.round_half_up(line.quantity * line.unit_price)  # priced as stored
            assert printed["amount"] == money.format_money(line.amount, "USD")
        assert invoice.total == invoice.subtotal + invoice.tax_total == invoice.amount_due  # what is charged
        assert invoice.subtotal == sum(line.amount for line in lines)
        _printed_taxes_add_up(invoice, lines)
        copy = invoice_duplicate(invoice=invoice, actor=None)
        copied = list(InvoiceLine.objects.filter(invoice=copy))
        assert [(c.quantity, c.amount, c.tax_amount) for c in copied] == [
            (line.quantity, line.amount, line.tax_amount) for line in lines
        ]
        assert (copy.subtotal, copy.tax_total, copy.total) == (
            invoice.subtotal,
            invoice.tax_total,
            invoice.total,
        )


def _printed_taxes_add_up(invoice: Invoice, lines: list[InvoiceLine]) -> None:
    """For any lines, the printed tax of each rate = round(rate x printed base), and they add up."""
    taxes = money.printed_taxes((line.tax_rate, line.amount, line.tax_amount) for line in lines)
    for tax in taxes:
        assert tax.base == sum(line.amount for line in lines if line.tax_rate == tax.rate)
        assert tax.tax == money.round_half_up(Decimal(tax.base) * tax.rate / 100)
    assert sum(tax.tax for tax in taxes) == invoice.tax_total


def test_the_printed_tax_is_the_rate_of_the_printed_base_on_page_pdf_and_pay_page(owner_client, partner):
    customer = customer_for(partner)
    rows = line_rows(
        ("Support", "1", "290.00", "8.25"), ("Setup", "1", "290.00", "8.25"), ("Fee", "1", "5", "")
    )
    data = form_data(partner, customer=customer.pk) | rows
    assert owner_client.post(reverse("invoice_create"), data).status_code == 302
    with scope(partner=partner):
        invoice = Invoice.objects.get()
        assert (invoice.subtotal, invoice.tax_total, invoice.total) == (58_500, 4_785, 63_285)
        assert pdf._context(invoice)["taxes"] == [{"rate": "8.25%", "on": "$580.00", "amount": "$47.85"}]
    page = owner_client.get(reverse("invoice_detail", args=[invoice.pk])).content.decode()
    assert re.search(r"Tax \(8\.25% on \$580\.00\)</th><td[^>]*>\$47\.85<", page)
    with scope(partner=partner):
        token = pay_link_issue(invoice=invoice).rstrip("/").rsplit("/", 1)[-1]
    pay_page = Client().get(reverse("pay_page", kwargs={"token": token})).content.decode()
    assert re.search(r"Tax \(8\.25% on \$580\.00\)</th><td[^>]*>\$47\.85<", pay_page)
    with scope(partner=partner):
        drawn = draw_invoice(
            invoice=invoice, kind="invoice", offset_days=0, link="", prefs=NotificationSettings(), pdf=None
        )
    text = render_to_string("emails/invoice.txt", drawn.context)
    assert "Subtotal: $585.00\nTax (8.25% on $580.00): $47.85\n" in text
