"""Helpers the endpoints share: optimistic concurrency (ETag / If-Match), calling a service, and the
objects a request body names (a customer, a saved method, lines) as the services take them."""

from django.core.exceptions import ValidationError
from django.http import Http404

from api.problems import Problem, service_problem
from customers.selectors import customer_get, customer_payment_methods
from invoicing.services import LineInput

# The services' field names, as this API calls them. A schedule's or a draft's "amount" is its lines' total.
FIELDS = {"customer": "customer_id", "payment_method": "payment_method_id"}
LINES_FIELDS = FIELDS | {"amount": "lines"}


def etag(value) -> str:
    return f'"{value}"'


def check_if_match(request, current: str) -> None:
    """An update sent with If-Match applies only to the version the client read (412 otherwise)."""
    expected = request.headers.get("If-Match")
    if expected is None or expected.strip() == "*":
        return
    if current not in [tag.strip().removeprefix("W/") for tag in expected.split(",")]:
        raise Problem(412, "The object changed since you read it. Read it again and reapply your change.")


def refuse_nulls(changes: dict, nullable: frozenset[str] = frozenset()) -> None:
    """A PATCH leaves out what it does not change; null is only for the fields that may be empty."""
    nulls = [name for name, value in changes.items() if value is None and name not in nullable]
    if nulls:
        raise Problem(
            422,
            "A field can't be null.",
            errors=[{"field": name, "message": "Can't be null."} for name in nulls],
        )


def call_service(call, api_fields: dict = FIELDS, **kwargs):
    """Call a service; its ValidationError becomes a problem naming this API's fields."""
    try:
        return call(**kwargs)
    except ValidationError as error:
        raise service_problem(error, api_fields) from None


def body_customer(request, customer_id: int):
    """The customer a body names: another partner's, or none, is a field error (422), not a 404."""
    try:
        return customer_get(partner=request.partner, customer_id=customer_id)
    except Http404:
        raise Problem(
            422, "No such customer.", errors=[{"field": "customer_id", "message": "No such customer."}]
        ) from None


def body_method(customer, method_id: int | None):
    if method_id is None:
        return None
    method = customer_payment_methods(customer=customer).filter(pk=method_id).first()
    if method is None:
        raise Problem(
            422,
            "No such payment method.",
            errors=[{"field": "payment_method_id", "message": "Not one of the customer's saved methods."}],
        )
    return method


def body_lines(lines) -> list[LineInput]:
    return [
        LineInput(
            description=line.description.strip(),
            quantity=line.quantity,
            unit_price=line.unit_price,
            tax_rate=line.tax_rate,
        )
        for line in lines
    ]


def stored_lines(lines) -> list[LineInput]:
    """An invoice's or a schedule's lines as they are, for an update that keeps them."""
    return [
        LineInput(
            description=line.description,
            quantity=line.quantity,
            unit_price=line.unit_price,
            tax_rate=line.tax_rate,
        )
        for line in lines
    ]
