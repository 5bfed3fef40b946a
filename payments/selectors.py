"""Reads about payments for the partner's pages. Every read is scoped to one partner."""

from django.db.models import QuerySet, Sum
from django.db.models.functions import Coalesce
from django.http import Http404

from customers.models import Customer, PaymentMethod
from invoicing.models import NEEDS_ATTENTION, EventKind, Invoice
from partners.models import Partner
from payments.gateways import get_gateway
from payments.models import LIVE_ATTEMPT_STATUSES, CustomerCredit, Payment, PaymentAttempt, Refund


def payment_method_get(*, customer: Customer, payment_method_id: int) -> PaymentMethod:
    """One of the customer's saved (not removed) methods, or 404."""
    try:
        return PaymentMethod.objects.get(
            partner_id=customer.partner_id, customer=customer, pk=payment_method_id, removed_at=None
        )
    except PaymentMethod.DoesNotExist:
        raise Http404("No such payment method.") from None


def customer_credit_balances(*, customer: Customer) -> list[tuple[str, int]]:
    """The customer's credit per currency, in minor units, leaving out currencies at zero."""
    rows = (
        CustomerCredit.objects.filter(partner_id=customer.partner_id, customer=customer)
        .values("currency")
        .annotate(total=Sum("amount"))
        .order_by("currency")
    )
    return [(row["currency"], row["total"]) for row in rows if row["total"]]


def invoices_needing_attention(*, partner: Partner, customer: Customer | None = None) -> QuerySet[Invoice]:
    """Open invoices whose last charge failed or whose automatic charging stopped (NEEDS_ATTENTION)."""
    invoices = Invoice.objects.filter(NEEDS_ATTENTION, partner=partner)
    if customer is not None:
        invoices = invoices.filter(customer=customer)
    return invoices.annotate(failed_at=Coalesce("charge_failed_at", "collection_failed_at")).order_by(
        "-failed_at", "-id"
    )


def invoice_attempts(*, invoice: Invoice) -> QuerySet[PaymentAttempt]:
    return PaymentAttempt.objects.filter(partner_id=invoice.partner_id, invoice=invoice).order_by(
        "-created_at", "-id"
    )


def invoice_live_attempt(*, invoice: Invoice) -> PaymentAttempt | None:
    """The attempt still waiting for an outcome (at most one per invoice, by constraint)."""
    return invoice_attempts(invoice=invoice).filter(status__in=LIVE_ATTEMPT_STATUSES).first()


def invoice_payments(*, invoice: Invoice) -> QuerySet[Payment]:
    return (
        Payment.objects.filter(partner_id=invoice.partner_id, invoice=invoice)
        .prefetch_related("disputes")
        .order_by("received_on", "id")
    )


def invoice_refunds(*, invoice: Invoice) -> QuerySet[Refund]:
    return Refund.objects.filter(partner_id=invoice.partner_id, invoice=invoice).order_by("created_at", "id")


def invoice_payment_get(*, invoice: Invoice, payment_id: int) -> Payment:
    try:
        return invoice_payments(invoice=invoice).get(pk=payment_id)
    except Payment.DoesNotExist:
        raise Http404("No such payment.") from None


def invoice_collection_stop_reason(*, invoice: Invoice) -> str:
    """Why automatic charging stopped, as the timeline recorded it."""
    event = (
        invoice.events.filter(kind=EventKind.COLLECTION_STOPPED).order_by("-created_at", "-id").first()
        if invoice.collection_failed_at
        else None
    )
    return event.message if event else ""


def charge_amount_refusal(*, partner, amount: int, currency: str) -> str | None:
    """Why the partner's processor could not charge this amount (below its minimum, ...), or None: said
    when the invoice is made, not when the charge fails."""
    if amount <= 0:
        return None
    return get_gateway(partner).amount_refusal(amount, currency)
