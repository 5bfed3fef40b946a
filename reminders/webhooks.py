"""The email provider's tracking webhook, /anymail/<esp>/tracking/ (e.g. /anymail/postmark/tracking/).

Only the URL of the provider EMAIL_ESP names answers; every other provider's is a 404, and so is every
URL while the app sends through SMTP or the dev outbox. Anymail's own view checks the webhook secret
(HTTP basic auth), parses the payload and sends each event as `anymail.signals.tracking`
(reminders.tracking). Anymail accepts anyone when no secret is set, so the URL refuses every post (403)
until ANYMAIL_WEBHOOK_SECRET holds a real one, and `manage.py check --deploy` says so. A payload Anymail
cannot parse (`[]`, `null`, `1`, not JSON) is logged and answered 400, never a server error; a failure
while applying a parsed event stays a 500, so the provider retries."""

import logging

from anymail import urls as anymail_urls
from django.conf import settings
from django.http import Http404, HttpResponseBadRequest, HttpResponseForbidden
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
# What .env.example ships with (`change-me:change-me`): known to everyone who read the repository.
PLACEHOLDER = "change-me"


def webhook_secret_problem() -> str | None:
    """What is wrong with ANYMAIL_WEBHOOK_SECRET (Anymail's `user:password`, or a list of them while one
    is rotated out), or None when every one is real."""
    secret = settings.ANYMAIL.get("WEBHOOK_SECRET")
    secrets = [secret] if isinstance(secret, str) else list(secret or [])
    if not secrets or not all(isinstance(each, str) and each for each in secrets):
        return "ANYMAIL_WEBHOOK_SECRET is not set"
    if any(PLACEHOLDER in each for each in secrets):
        return "ANYMAIL_WEBHOOK_SECRET is still the .env.example placeholder"
    if not all(user and password for user, _, password in (each.partition(":") for each in secrets)):
        return "ANYMAIL_WEBHOOK_SECRET is not of the form user:password"
    return None


@csrf_exempt  # the provider posts without a CSRF token; Anymail's view checks the webhook secret
def tracking_webhook(request, esp: str):
    view = TRACKING_VIEWS.get(esp)
    if view is None or esp != settings.EMAIL_ESP:
        raise Http404
    if (problem := webhook_secret_problem()) is not None:
        logger.error("Refused a %s tracking webhook: %s", esp, problem)
        return HttpResponseForbidden("This webhook is not configured.")
    try:
        return view(request)
    except MALFORMED as error:
        logger.warning("Rejected a malformed webhook at %s: %r", request.path, error)
        return HttpResponseBadRequest("Malformed webhook payload.")


urlpatterns = [path("<str:esp>/tracking/", tracking_webhook, name="email_tracking_webhook")]
