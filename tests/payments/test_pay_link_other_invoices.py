# ruff: noqa: F811  (the fixtures customer, invoice and token come from test_pay_page)
"""A pay link shows its customer's other open invoices at that partner and lets them be paid, while
saved methods, billing details and Auto-Pay stay behind the portal's emailed sign-in (issue 21 item 11)."""

import pytest
from django.test import Client
from django.urls import reverse
from django_scopes import scopes_disabled

from invoicing.models import InvoiceStatus
from payments.models import PayLink
from tests.factories import PartnerFactory
from tests.factories.invoicing import customer_for, make_invoice
from tests.payments.test_pay_page import (  # noqa: F401  (a customer with a saved card)
    LINES,
    confirm,
    customer,
    invoice,
    page_url,
    refreshed,
    token,
    token_of,
)

pytestmark = pytest.mark.django_db(transaction=True)


def other_url(token, other) -> str:
    return reverse("pay_other", kwargs={"token": token, "invoice_id": other.pk})


def test_the_pay_page_lists_the_customers_other_open_invoices_only(partner, customer, invoice, token):
    mine = make_invoice(partner, customer=customer, lines=[("Backup", "1", 4_000, "0")])
    draft = make_invoice(partner, customer=customer, lines=LINES, finalize=False)
    someone_else = make_invoice(partner, customer=customer_for(partner, name="Bob"), lines=LINES)
    elsewhere = PartnerFactory()
    theirs = make_invoice(
        elsewhere, customer=customer_for(elsewhere, email="alice@acme.example"), lines=LINES
    )

    body = Client().get(page_url(token)).content.decode()

    assert "Your other open invoices" in body
    assert f'action="{other_url(token, mine)}"' in body
    assert f"Invoice {mine.number}</button>: $40.00 due" in body
    for hidden_invoice in (draft, someone_else, theirs):
        assert f"/other/{hidden_invoice.pk}/" not in body
    assert "changing saved payment methods, billing details or Auto-Pay needs signing in" in body


def test_only_the_customers_own_open_invoices_open_from_the_link(partner, customer, invoice, token):
    someone_else = make_invoice(partner, customer=customer_for(partner, name="Bob"), lines=LINES)
    elsewhere = PartnerFactory()
    theirs = make_invoice(elsewhere, customer=customer_for(elsewhere), lines=LINES)
    client = Client()
    with scopes_disabled():
        links = PayLink.objects.count()
    for other in (someone_else, theirs, invoice):  # another's, another partner's, the link's own
        assert client.post(other_url(token, other)).status_code == 404
    assert client.get(other_url(token, someone_else)).status_code == 405
    with scopes_disabled():
        assert PayLink.objects.count() == links  # none issued


def test_another_open_invoice_is_paid_from_the_link(partner, customer, invoice, token):
    mine = make_invoice(partner, customer=customer, lines=[("Backup", "1", 4_000, "0")])
    client = Client()
    response = client.post(other_url(token, mine))
    assert response.status_code == 302
    other_token = token_of(response.url)
    with scopes_disabled():
        new_link = PayLink.objects.filter(invoice=mine).latest("id")
        assert new_link.expires_at <= PayLink.objects.filter(invoice=invoice).latest("id").expires_at
    page = client.get(response.url).content.decode()
    assert f"Invoice {mine.number}" in page
    assert "Pay $40.00 with Visa •••• 4242" in page
    assert f"Invoice {invoice.number}</button>" in page  # and back the other way

    paid = client.post(page_url(other_token, "pay_confirm"), confirm(client, other_token), follow=True)
    assert "$40.00 paid with Visa •••• 4242" in paid.content.decode()
    assert refreshed(mine).status == InvoiceStatus.PAID
    assert refreshed(invoice).status == InvoiceStatus.OPEN


def test_methods_details_and_autopay_still_need_the_emailed_sign_in(partner, customer, invoice, token):
    client = Client()
    assert client.get(page_url(token)).status_code == 200
    sign_in = reverse("portal_sign_in", kwargs={"partner_slug": partner.slug})
    for name, method in (("portal_methods", "get"), ("portal_details", "get"), ("portal_autopay", "post")):
        response = getattr(client, method)(reverse(name, kwargs={"partner_slug": partner.slug}))
        assert response.status_code == 302, name
        assert response.url == sign_in, name
    with scopes_disabled():
        customer.refresh_from_db()
    assert not customer.autopay
