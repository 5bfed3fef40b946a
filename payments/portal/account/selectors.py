"""Reads for the customer account portal. Every read is about one signed-in customer at one partner, and
runs inside that partner's scope (set by the view); ids from the request are always checked against the
customer, so another customer's invoice is a 404, never a peek (methods: payments.selectors)."""

from collections import defaultdict

from django.http import Http404
from django_scopes import scopes_disabled

from customers.models import Customer
from invoicing.models import PAYABLE, Invoice, InvoiceStatus
from partners.models import Partner
from payments.models import AttemptTrigger, PaymentAttempt

PAST_INVOICES_SHOWN = 50


def portal_partner_get(*, slug: str) -> Partner:
    """The partner whose portal the URL names by its slug; the only cross-partner read, before any scope
    exists."""
    with scopes_disabled():
        partner = Partner.objects.filter(slug=slug, is_active=True).first()
    if partner is None:
        raise Http404
    return partner


def portal_customer_by_email(*, partner: Partner, email: str) -> Customer | None:
    return (
        Customer.objects.filter(partner=partner, email__iexact=email.strip(), archived_at=None)
        .order_by("id")
        .first()
    )


def portal_customer_get(*, partner: Partner, customer_id: int) -> Customer | None:
    return Customer.objects.filter(partner=partner, pk=customer_id, archived_at=None).first()


def _invoices(customer: Customer):
    return Invoice.objects.filter(partner_id=customer.partner_id, customer=customer).exclude(
        status=InvoiceStatus.DRAFT
    )


def open_invoices_by_currency(*, customer: Customer) -> dict[str, list[Invoice]]:
    """What the customer still owes, oldest due first, grouped by currency (each group is paid together)."""
    groups = defaultdict(list)
    for invoice in _invoices(customer).filter(PAYABLE).order_by("due_date", "id"):
        groups[invoice.currency].append(invoice)
    return dict(sorted(groups.items()))


def past_invoices(*, customer: Customer) -> list[Invoice]:
    return list(_invoices(customer).exclude(PAYABLE).order_by("-issue_date", "-id")[:PAST_INVOICES_SHOWN])


def customer_invoice_get(*, customer: Customer, invoice_id: int) -> Invoice:
    invoice = _invoices(customer).select_related("partner").filter(pk=invoice_id).first()
    if invoice is None:
        raise Http404
    return invoice


def customer_open_invoices(*, customer: Customer, invoice_ids: list[int], currency: str) -> list[Invoice]:
    """The customer's own payable invoices among `invoice_ids` in `currency`; anything else is dropped."""
    return list(
        _invoices(customer)
        .filter(PAYABLE, pk__in=invoice_ids, currency=currency)
        .select_related("partner", "customer")
        .order_by("due_date", "id")
    )


def customer_attempts(*, customer: Customer, keys: list[str]) -> list[PaymentAttempt]:
    return list(
        PaymentAttempt.objects.filter(
            partner_id=customer.partner_id,
            customer=customer,
            idempotency_key__in=keys,
            trigger=AttemptTrigger.CUSTOMER,
        )
        .select_related("invoice")
        .order_by("invoice__due_date", "invoice_id")
    )
