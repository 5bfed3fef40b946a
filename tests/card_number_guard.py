"""Test-only middleware (config/settings/test.py): any request to the app whose body carries a card
number (13 to 19 digits from a card network, 2 to 6 first, passing the Luhn check, spaces or dashes
allowed) fails the test. Cards are
entered in the processor's own fields; the app only ever receives the processor's reference."""

import re
from urllib.parse import unquote_plus

from django.conf import settings
from django.core.exceptions import RequestDataTooBig

from payments.forms import luhn_valid

# A run of digits that is a whole word: ids, digests and keys mix digits with letters and never match.
CANDIDATE = re.compile(r"(?<![0-9A-Za-z_])(?:\d[ -]?){12,18}\d(?![0-9A-Za-z_])")
seen: list[str] = []  # what the guard caught, for the fixture that fails the test (tests/conftest.py)


def card_numbers_in(text: str) -> list[str]:
    found = []
    for match in CANDIDATE.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        # Card networks' numbers start with 2 to 6 (Mastercard, Amex, Visa, Discover); zero UUIDs don't.
        if 13 <= len(digits) <= 19 and digits[0] in "23456" and luhn_valid(digits):
            found.append(f"…{digits[-4:]}")
    return found


class CardNumberGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not getattr(settings, "CARD_NUMBER_GUARD", True):
            return self.get_response(request)
        try:
            body = request.body.decode("utf-8", "replace")
        except RequestDataTooBig:
            body = ""
        if found := card_numbers_in(unquote_plus(body)):
            seen.append(
                f"{request.method} {request.path}: a card number ({', '.join(found)}) reached the app"
            )
            raise AssertionError(seen[-1])
        return self.get_response(request)
