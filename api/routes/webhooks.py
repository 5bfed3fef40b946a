"""Webhook endpoints and their delivery log, through api.services and api.webhooks.delivery."""

from django.core.exceptions import ValidationError
from django.http import Http404
from ninja import Query, Router, Schema, Status

from api import selectors, services
from api.pagination import page_by_id
from api.problems import service_problem
from api.schemas import (
    DeliveryOut,
    DeliveryPage,
    EndpointIn,
    EndpointOut,
    EndpointUpdate,
    EndpointWithSecret,
    Id,
    Text,
)
from api.webhooks.delivery import webhook_resend

router = Router(tags=["Webhooks"])


def _endpoint(request, endpoint_id: int):
    return selectors.webhook_endpoint_get(partner=request.partner, endpoint_id=endpoint_id)


def _call(service, **kwargs):
    try:
        return service(**kwargs)
    except ValidationError as error:
        raise service_problem(error) from None


@router.get("/webhook_endpoints", response=list[EndpointOut], summary="List webhook endpoints")
def endpoint_list(request):
    return list(selectors.webhook_endpoint_list(partner=request.partner))


@router.post("/webhook_endpoints", response={201: EndpointWithSecret}, summary="Add a webhook endpoint")
def endpoint_create(request, payload: EndpointIn):
    """The URL must be https and must not resolve to a private, loopback or link-local address."""
    endpoint = _call(
        services.webhook_endpoint_create,
        partner=request.partner,
        url=payload.url,
        event_types=list(payload.event_types),
        description=payload.description,
    )
    return Status(201, endpoint)


@router.get(
    "/webhook_endpoints/{endpoint_id}", response=EndpointWithSecret, summary="Read a webhook endpoint"
)
def endpoint_read(request, endpoint_id: Id):
    return _endpoint(request, endpoint_id)


@router.patch("/webhook_endpoints/{endpoint_id}", response=EndpointOut, summary="Change a webhook endpoint")
def endpoint_update(request, endpoint_id: Id, payload: EndpointUpdate):
    data = {key: value for key, value in payload.model_dump(exclude_unset=True).items() if value is not None}
    return _call(services.webhook_endpoint_update, endpoint=_endpoint(request, endpoint_id), data=data)


@router.delete("/webhook_endpoints/{endpoint_id}", response={204: None}, summary="Delete a webhook endpoint")
def endpoint_delete(request, endpoint_id: Id):
    services.webhook_endpoint_delete(endpoint=_endpoint(request, endpoint_id))
    return Status(204, None)


@router.post(
    "/webhook_endpoints/{endpoint_id}/roll_secret",
    response=EndpointWithSecret,
    summary="Roll the signing secret",
)
def endpoint_roll_secret(request, endpoint_id: Id):
    """A new secret; for 24 hours deliveries carry a signature with the old one too."""
    return services.webhook_endpoint_roll_secret(endpoint=_endpoint(request, endpoint_id))


class CursorQuery(Schema):
    cursor: Text(300) | None = None


@router.get(
    "/webhook_endpoints/{endpoint_id}/deliveries",
    response=DeliveryPage,
    summary="The endpoint's delivery log",
)
def delivery_list(request, endpoint_id: Id, params: Query[CursorQuery]):
    endpoint = _endpoint(request, endpoint_id)
    rows, next_cursor = page_by_id(selectors.delivery_log(endpoint=endpoint), cursor=params.cursor)
    return {"data": [selectors.delivery_row(d) for d in rows], "next_cursor": next_cursor}


@router.post(
    "/webhook_endpoints/{endpoint_id}/deliveries/{delivery_id}/resend",
    response={202: DeliveryOut},
    summary="Send an event again",
)
def delivery_resend(request, endpoint_id: Id, delivery_id: Id):
    endpoint = _endpoint(request, endpoint_id)
    delivery = selectors.delivery_log(endpoint=endpoint).filter(pk=delivery_id).first()
    if delivery is None:
        raise Http404("No such delivery.")
    copy = webhook_resend(delivery=delivery)
    copy = selectors.delivery_log(endpoint=endpoint).get(pk=copy.pk)
    return Status(202, selectors.delivery_row(copy))
