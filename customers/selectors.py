"""Reads about a partner's customers. Every read a view makes is scoped to a partner."""

from django.db.models import Q, QuerySet
from django.http import Http404

from customers.models import Customer, PaymentMethod
from partners.models import Partner


def customer_list(*, partner: Partner, query: str = "", include_archived: bool = False) -> QuerySet[Customer]:
    """The partner's customers by name; each word of `query` must appear in the name, company or email.

    Unbounded: callers paginate or slice. Ordered by (name, id), which the (partner, name) index serves.
    """
    customers = Customer.objects.filter(partner=partner)
    if not include_archived:
        customers = customers.filter(archived_at=None)
    for word in query.replace("\x00", " ").split():  # PostgreSQL text can't hold NUL: a typed one separates
        customers = customers.filter(
            Q(name__icontains=word) | Q(company__icontains=word) | Q(email__icontains=word)
        )
    return customers.order_by("name", "id")


def customer_get(*, partner: Partner, customer_id: int) -> Customer:
    try:
        return Customer.objects.get(partner=partner, pk=customer_id)
    except Customer.DoesNotExist:
        raise Http404("No such customer.") from None


def customer_payment_methods(*, customer: Customer) -> QuerySet[PaymentMethod]:
    """Saved payment methods that have not been removed, the default one first."""
    return PaymentMethod.objects.filter(
        partner_id=customer.partner_id, customer=customer, removed_at=None
    ).order_by("-is_default", "-created_at", "-id")
