"""Anymail's webhook URLs (/anymail/<esp>/tracking/ and the rest), each wrapped so that a payload that
can't be parsed is logged and answered 400 instead of a server error. Anymail itself checks the
webhook secret (HTTP basic auth) and turns each event into `anymail.signals.tracking`."""

import logging
from functools import wraps

from anymail import urls as anymail_urls
from django.http import HttpResponseBadRequest
from django.urls import URLPattern

logger = logging.getLogger(__name__)


def _rejecting_malformed(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except (ValueError, KeyError) as error:  # bad JSON or form data, missing fields
            logger.warning("Rejected a malformed webhook at %s: %r", request.path, error)
            return HttpResponseBadRequest("Malformed webhook payload.")

    return wrapped


urlpatterns = [
    URLPattern(pattern.pattern, _rejecting_malformed(pattern.callback), pattern.default_args, pattern.name)
    for pattern in anymail_urls.urlpatterns
]
