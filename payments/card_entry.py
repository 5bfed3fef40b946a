"""What a page that takes a card needs: the processor's setup for the browser (a Stripe SetupIntent's
secret, or the sandbox's test-number digests) and a Content-Security-Policy that lets the processor's
origins in on that page only (config.middleware reads `response.csp_sources`)."""

from urllib.parse import urlsplit

from django.conf import settings

from customers.models import Customer
from payments.gateways.sandbox.gateway import TEST_CARDS, number_digest
from payments.services import payment_method_setup

STRIPE_API = "https://api.stripe.com"
STRIPE_FRAMES = ["https://js.stripe.com", "https://hooks.stripe.com"]


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def card_entry_context(*, customer: Customer) -> dict:
    """Raises ValidationError when the processor does not answer."""
    setup = payment_method_setup(customer=customer)
    return {
        "card_setup": setup,
        "card_test_digests": " ".join(number_digest(number) for number in TEST_CARDS),
        "stripe_js_url": settings.STRIPE_JS_URL,
    }


def allow_card_entry(response, context: dict):
    """Let the processor's script, frames and API calls in on this response only."""
    setup = context.get("card_setup")
    if setup is not None and setup.processor == "stripe":
        script = _origin(settings.STRIPE_JS_URL)
        api = _origin(settings.STRIPE_API_BASE or STRIPE_API)
        response.csp_sources = {
            "script-src": [script],
            "frame-src": [script, *STRIPE_FRAMES],
            "connect-src": [api, script],
        }
    return response
