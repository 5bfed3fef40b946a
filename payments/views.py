"""The gateway's webhook endpoint. Partner pages for payments live with customers and invoices."""

import logging

from django.db import transaction
from django.http import HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from payments.gateways.base import GatewayError, WebhookInvalid
from payments.services import webhook_receive

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
@transaction.non_atomic_requests
def gateway_webhook(request):
    """Verified, deduplicated and applied by payments.services.webhook_receive. A 4xx tells the
    gateway not to retry a forged or malformed event; a 5xx makes it retry later."""
    try:
        result = webhook_receive(body=request.body, headers=request.headers)
    except WebhookInvalid as error:
        logger.warning("Gateway webhook rejected from %s: %s", request.META.get("REMOTE_ADDR"), error)
        return HttpResponseBadRequest("Invalid webhook.", content_type="text/plain")
    except GatewayError as error:
        logger.warning("Gateway webhook about an unknown charge rejected: %s", error)
        return HttpResponseBadRequest("Unknown charge.", content_type="text/plain")
    return HttpResponse(result, content_type="text/plain")
