"""Customers and their saved payment methods, through customers.services and payments.services."""

from django.http import HttpResponse
from ninja import Query, Router, Schema, Status

from api.pagination import page_by_id
from api.routes.common import check_if_match, etag, refuse_nulls
from api.schemas import CustomerCreate, CustomerOut, CustomerPage, CustomerUpdate, Id, PaymentMethodOut, Text
from customers import selectors, services
from customers.models import Customer
from payments.selectors import payment_method_get
from payments.services import payment_method_remove, payment_method_set_default

router = Router(tags=["Customers"])


def customer_etag(customer: Customer) -> str:
    return etag(customer.updated_at.timestamp())


class CustomerFilters(Schema):
    q: Text(100) = ""
    include_archived: bool = False
    cursor: Text(300) | None = None


@router.get("", response=CustomerPage, summary="List customers")
def customer_list(request, filters: Query[CustomerFilters]):
    """Newest first. `q`: each word must appear in the name, company or email."""
    customers = selectors.customer_list(
        partner=request.partner, query=filters.q, include_archived=filters.include_archived
    )
    rows, next_cursor = page_by_id(customers, cursor=filters.cursor)
    return {"data": rows, "next_cursor": next_cursor}


@router.post("", response={201: CustomerOut}, summary="Create a customer")
def customer_create(request, payload: CustomerCreate):
    customer = services.customer_create(partner=request.partner, data=payload.model_dump())
    return Status(201, customer)


@router.get("/{customer_id}", response=CustomerOut, summary="Read a customer")
def customer_read(request, customer_id: Id, response: HttpResponse):
    customer = selectors.customer_get(partner=request.partner, customer_id=customer_id)
    response["ETag"] = customer_etag(customer)
    return customer


@router.patch("/{customer_id}", response=CustomerOut, summary="Update, archive or restore a customer")
def customer_update(request, customer_id: Id, payload: CustomerUpdate, response: HttpResponse):
    """Send only the fields to change. `archived: true` archives (invoices and history stay). With
    `If-Match: <ETag of the last read>`, a change made meanwhile by someone else answers 412."""
    selectors.customer_get(partner=request.partner, customer_id=customer_id)
    customer = Customer.objects.select_for_update().get(partner=request.partner, pk=customer_id)
    check_if_match(request, customer_etag(customer))
    data = payload.model_dump(exclude_unset=True)
    archived = data.pop("archived", None)
    refuse_nulls(data)
    if data:
        customer = services.customer_update(customer=customer, data=data)
    if archived is True:
        customer = services.customer_archive(customer=customer)
    elif archived is False:
        customer = services.customer_unarchive(customer=customer)
    response["ETag"] = customer_etag(customer)
    return customer


@router.post("/{customer_id}/archive", response=CustomerOut, summary="Archive a customer")
def customer_archive(request, customer_id: Id):
    customer = selectors.customer_get(partner=request.partner, customer_id=customer_id)
    return services.customer_archive(customer=customer)


@router.get(
    "/{customer_id}/payment_methods", response=list[PaymentMethodOut], summary="List saved payment methods"
)
def payment_method_list(request, customer_id: Id):
    """Adding a method goes through the processor's browser flow (the customer's pay page or portal):
    the API never takes a card or account number."""
    customer = selectors.customer_get(partner=request.partner, customer_id=customer_id)
    return list(selectors.customer_payment_methods(customer=customer))


@router.post(
    "/{customer_id}/payment_methods/{payment_method_id}/default",
    response=PaymentMethodOut,
    summary="Make a payment method the default",
)
def payment_method_default(request, customer_id: Id, payment_method_id: Id):
    customer = selectors.customer_get(partner=request.partner, customer_id=customer_id)
    method = payment_method_get(customer=customer, payment_method_id=payment_method_id)
    return payment_method_set_default(method=method)


@router.delete(
    "/{customer_id}/payment_methods/{payment_method_id}",
    response={204: None},
    summary="Remove a payment method",
)
def payment_method_delete(request, customer_id: Id, payment_method_id: Id):
    customer = selectors.customer_get(partner=request.partner, customer_id=customer_id)
    method = payment_method_get(customer=customer, payment_method_id=payment_method_id)
    payment_method_remove(method=method)
    return Status(204, None)
