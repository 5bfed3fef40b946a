import datetime

import pytest
from django.http import Http404
from django.utils import timezone

from customers import selectors
from invoicing import selectors as invoice_selectors
from invoicing.models import Invoice
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def invoice(customer, *, status, currency="USD", amount_due=1000, number):
    return Invoice.objects.create(
        partner=customer.partner,
        customer=customer,
        currency=currency,
        due_date=datetime.date(2030, 1, 31),
        status=status,
        number="" if status == "draft" else number,
        total=amount_due,
        amount_due=amount_due,
    )


def test_balance_adds_what_is_due_on_open_and_uncollectible_invoices_per_currency(
    partner, unscoped, django_assert_num_queries
):
    customer = CustomerFactory(partner=partner)
    invoice(customer, status="open", amount_due=100_000, number="INV-1")
    invoice(customer, status="uncollectible", amount_due=5_000, number="INV-2")
    invoice(customer, status="open", currency="EUR", amount_due=2_000, number="INV-3")
    invoice(customer, status="draft", amount_due=700, number="")
    invoice(customer, status="void", amount_due=300, number="INV-4")
    invoice(customer, status="paid", amount_due=0, number="INV-5")
    invoice(CustomerFactory(partner=partner), status="open", amount_due=99, number="INV-6")

    with django_assert_num_queries(1):
        balance = invoice_selectors.customer_balance(customer=customer)
    assert balance == [("EUR", 2_000), ("USD", 105_000)]


def test_a_customer_who_owes_nothing_has_an_empty_balance(partner, unscoped):
    customer = CustomerFactory(partner=partner)
    invoice(customer, status="paid", amount_due=0, number="INV-1")
    assert invoice_selectors.customer_balance(customer=customer) == []


def test_recent_invoices_are_the_customers_newest_first_up_to_the_limit(partner, unscoped):
    customer = CustomerFactory(partner=partner)
    numbers = [invoice(customer, status="open", number=f"INV-{n}").number for n in range(1, 5)]
    invoice(CustomerFactory(partner=partner), status="open", number="INV-99")
    recent = invoice_selectors.customer_recent_invoices(customer=customer, limit=3)
    assert [i.number for i in recent] == numbers[::-1][:3]


def test_customer_get_refuses_another_partners_or_a_missing_id(partner, other_partner, unscoped):
    mine = CustomerFactory(partner=partner)
    theirs = CustomerFactory(partner=other_partner)
    assert selectors.customer_get(partner=partner, customer_id=mine.pk) == mine
    with pytest.raises(Http404):
        selectors.customer_get(partner=partner, customer_id=theirs.pk)
    with pytest.raises(Http404):
        selectors.customer_get(partner=partner, customer_id=theirs.pk + 1000)


def test_customer_list_is_the_partners_active_customers_by_name(partner, other_partner, unscoped):
    bea = CustomerFactory(partner=partner, name="Bea")
    ann = CustomerFactory(partner=partner, name="Ann")
    archived = CustomerFactory(partner=partner, name="Abe", archived_at=timezone.now())
    CustomerFactory(partner=other_partner, name="Aaron")
    assert list(selectors.customer_list(partner=partner)) == [ann, bea]
    assert list(selectors.customer_list(partner=partner, include_archived=True)) == [archived, ann, bea]
    assert list(selectors.customer_list(partner=partner, query="  BE  ")) == [bea]
