"""Invoices made the way the app makes them: through invoicing.services, so totals and numbers are real."""

import datetime
from decimal import Decimal

from django_scopes import scope

from customers.models import Customer
from invoicing.services import InvoiceInput, LineInput, invoice_create
from partners.models import Partner


def customer_for(partner: Partner, **fields) -> Customer:
    with scope(partner=partner):
        count = Customer.objects.count()
    fields.setdefault("name", f"Customer {count + 1}")
    fields.setdefault("email", f"customer{count + 1}-{partner.pk}@example.com")
    return Customer.objects.create(partner=partner, **fields)


def make_invoice(
    partner: Partner,
    *,
    customer: Customer | None = None,
    lines: list[tuple[str, str, int, str]] | None = None,
    finalize: bool = True,
    due_in_days: int = 30,
    currency: str | None = None,
    **options,
):
    """lines: (description, quantity, unit price in minor units, tax rate %)."""
    lines = lines or [("Managed services", "1", 10_000, "0")]
    with scope(partner=partner):
        data = InvoiceInput(
            customer=customer or customer_for(partner),
            due_date=partner.today() + datetime.timedelta(days=due_in_days),
            currency=currency or partner.default_currency,
            lines=[LineInput(d, Decimal(q), price, Decimal(rate)) for d, q, price, rate in lines],
            **options,
        )
        return invoice_create(partner=partner, data=data, created_by=None, finalize=finalize)
