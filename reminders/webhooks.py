"""The email provider's tracking webhook, /anymail/<esp>/tracking/ (e.g. /anymail/postmark/tracking/).

Only the URL of the provider EMAIL_ESP names answers; every other provider's is a 404, and so is every
URL while the app sends through SMTP or the dev outbox. Anymail's own view checks the webhook secret
(HTTP basic auth), parses the payload and sends each event as `anymail.signals.tracking`
(reminders.tracking). A payload it cannot parse (`[]`, `null`, `1`, not JSON) is logged and answered 400,
never a server error; a failure while applying a parsed event stays a 500, so the provider retries."""

import logging

from anymail import urls as anymail_urls
from django.conf import settings
from django.http import Http404, HttpResponseBadRequest
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

logger = logging.getLogger(__name__)

TRACKING_SUFFIX = "_tracking_webhook"
# Anymail's tracking view per provider, by the name EMAIL_ESP uses ("postmark", "amazon_ses", ...).
TRACKING_VIEWS = {
    pattern.name.removesuffix(TRACKING_SUFFIX): pattern.callback
    for pattern in anymail_urls.urlpatterns
    if pattern.name and pattern.name.endswith(TRACKING_SUFFIX)
}
# What Anymail's parsers raise on a payload of the wrong shape: not JSON or not text (ValueError), a
# list or a number where an object belongs (AttributeError, TypeError), a missing field (KeyError).
MALFORMED = (ValueError, KeyError, IndexError, TypeError, AttributeError)


@csrf_exempt  # the provider posts without a CSRF token; Anymail's view checks the webhook secret
def tracking_webhook(request, esp: str):
    view = TRACKING_VIEWS.get(esp)
    if view is None or esp != settings.EMAIL_ESP:
        raise Http404
    try:
        return view(request)
    except MALFORMED as error:
        logger.warning("Rejected a malformed webhook at %s: %r", request.path, error)
        return HttpResponseBadRequest("Malformed webhook payload.")


urlpatterns = [path("<str:esp>/tracking/", tracking_webhook, name="email_tracking_webhook")]
