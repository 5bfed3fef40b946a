"""Issue 20, item 8: every URL of the app, requested with generated bad values as a clumsy user or an
attacker could type them, never answers a 5xx.

The URL patterns come from walking the resolver, so a new page is covered without being listed here.
Path parameters get a real id or token of a small world, or a bad value; query and form parameters are
the fields the page's own HTML draws plus every parameter name the code reads from a request, each
keeping its drawn value or getting a bad one (NUL, huge and non-finite numbers, odd digits, very long
and odd unicode strings, negative ids, malformed dates and tokens). Each URL is requested with GET and
POST, as anonymous, as a signed-in partner owner and, on the pay pages and the customer portal, as the
customer holding a valid link or portal session.
"""

import datetime
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_scopes import scope
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from payments.models import PaymentMethodType
from payments.portal.account.services import portal_sign_in_link_create
from payments.services import payment_record_offline
from tests.factories import InvitationFactory
from tests.factories.invoicing import customer_for, make_invoice
from tests.factories.payments import card_for
from tests.factories.recurring import make_schedule
from tests.payments.test_pay_page import token_of
from tests.payments.test_portal_account import sign_in  # noqa: F401  a fixture

ROOT = Path(__file__).resolve().parent.parent
APPS = ["config", "core", "partners", "customers", "invoicing", "payments", "reminders", "dashboard"]
# Django's admin pages per model are Django's own and staff-only; its sign-in and index are walked.
ADMIN_WALKED = {"index", "login"}
PARAMETER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")
READ_NAME = re.compile(r"""\.(?:get|getlist|pop)\(\s*["']([a-z_]+)["']""")

BAD_TEXT = [
    "\x00", "a\x00b", "%00", "1e400", "-1e400", "9" * 30, "9" * 5000, "-1", "-99999999999", "0",
    "999999999.9999", "NaN", "Infinity", "-Infinity", "1_000", "0x10", "\u00b2", "\u0661\u0662",
    "\u0663.\u0665", "", " ", "x" * 5000, "\u00e9" * 300,
    "\u202e\u0000", "<script>alert(1)</script>", "' OR 1=1 --", "../../etc/passwd", "2026-02-30",
    "9999-12-31", "0001-01-01", "99/9999", "[]", "null", "{}", "true", "USD", "XXXX",
]  # fmt: skip
bad_values = st.one_of(
    st.sampled_from(BAD_TEXT),
    st.text(max_size=12),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
)


def walk(resolver=None, prefix: str = ""):
    """(route, pattern) for every URL pattern of the URLconf, depth first."""
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            yield from walk(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            route = prefix + str(entry.pattern)
            if route.startswith("admin/") and entry.name not in ADMIN_WALKED:
                continue
            yield route, entry


def names_the_code_reads() -> list[str]:
    """Every parameter name a view, form or selector reads from request data by name."""
    found = set()
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts:
                found.update(READ_NAME.findall(path.read_text()))
    return sorted(found)


class FormFields(HTMLParser):
    """The named fields of a page's forms, with the value each would submit."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self._select = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in ("checkbox", "radio", "file", "submit"):
            self.fields.setdefault(name, attrs.get("value") or "")
        elif tag == "input" and name and "checked" in attrs:
            self.fields.setdefault(name, attrs.get("value") or "on")
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and (self._select not in self.fields or "selected" in attrs):
            self.fields[self._select] = attrs.get("value") or ""
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields.setdefault(name, "")

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.fields[self._textarea] += data


def form_fields(body: bytes) -> dict[str, str]:
    parser = FormFields()
    parser.feed(body.decode(errors="replace"))
    return parser.fields


@pytest.fixture
def world(partner, owner, unscoped):
    """One of everything a URL can name, as {path parameter name: a real value}."""
    customer = customer_for(partner, name="Alice Jones", email="alice@acme.example")
    method = card_for(customer)
    invoice = make_invoice(partner, customer=customer, lines=[("Services", "2", 50_000, "8.25")])
    with scope(partner=partner):
        payment = payment_record_offline(
            invoice=invoice,
            amount=10_000,
            method=PaymentMethodType.CHECK,
            received_on=partner.today(),
            actor=owner,
        )
        _, portal_url = portal_sign_in_link_create(partner=partner, email=customer.email)
    schedule = make_schedule(
        partner, customer=customer, start_date=partner.today() + datetime.timedelta(days=30)
    )
    invitation = InvitationFactory(partner=partner, token="a-valid-invitation-token")
    return {
        "values": {
            "customer_id": customer.pk,
            "invoice_id": invoice.pk,
            "payment_id": getattr(payment, "pk", 1),
            "payment_method_id": method.pk,
            "schedule_id": schedule.pk,
            "membership_id": owner.memberships.first().pk,
            "invitation_id": invitation.pk,
            "email_id": 1,
            "index": 0,
            "suppressed_id": 1,
            "partner_slug": partner.slug,
            "logo_sha256": partner.logo_sha256 or "0" * 64,
            "colour": "0a7d3b",
            "esp": "postmark",
            "uidb64": urlsafe_base64_encode(force_bytes(owner.pk)),
        },
        "tokens": {
            "pay": token_of(invoice.fresh_pay_url),
            "invitation_accept": "a-valid-invitation-token",
            "password_reset_confirm": default_token_generator.make_token(owner),
            "portal_sign_in_link": token_of(portal_url),
        },
        "customer": customer,
    }


def real_value(pattern, name: str, world) -> str:
    if name == "token":
        tokens = world["tokens"]
        return tokens.get(pattern.name, tokens["pay"])
    return str(world["values"].get(name, 1))


def path_values(route: str):
    """A strategy for one filled path: each parameter real (most often) or bad."""
    return st.fixed_dictionaries(
        {name: st.one_of(st.none(), st.none(), bad_values) for name in path_names(route)}
    )


def fill(route: str, pattern, chosen: dict, world) -> str:
    def value(match):
        bad = chosen[match["name"]]
        text = real_value(pattern, match["name"], world) if bad is None else bad
        return quote(text, safe="")

    return "/" + PARAMETER.sub(value, route)


def parameters(names: list[str], base: dict[str, str]):
    """Query or form data: the page's own fields as drawn, a few replaced or added with bad values."""
    return st.dictionaries(st.sampled_from(names), bad_values, max_size=4).map(lambda bad: {**base, **bad})


WALK = sorted(walk(), key=lambda item: ("sign-out" in item[0] or "logout" in item[0], item[0]))
EXAMPLES_PER_URL = 3  # x 2 methods x 2 or 3 people: about 1,500 requests, under a minute here


def status_of(response) -> int:
    """The status, reading a streamed body to its end: an export fails while it streams."""
    if response.streaming:
        try:
            b"".join(response.streaming_content)
        except Exception:
            return 500
    return response.status_code


@pytest.mark.django_db
def test_no_url_answers_bad_input_with_a_server_error(world, owner, partner, sign_in):  # noqa: F811
    code_names = names_the_code_reads()
    people = {
        "anonymous": Client(raise_request_exception=False),
        "partner user": Client(raise_request_exception=False),
        "customer": sign_in(partner, world["customer"], Client(raise_request_exception=False)),
    }
    failures = []
    for route, pattern in WALK:
        failures += bad_requests(route, pattern, people, owner, world, code_names)
    assert failures == [], "\n".join(failures[:40])


def bad_requests(route, pattern, people, owner, world, code_names) -> list[str]:
    """Generated GETs and POSTs of one URL, as each person who can reach it; the 5xx answers."""
    partner_user = people["partner user"]
    if not route.startswith("pay/"):
        people = {who: client for who, client in people.items() if who != "customer"}
    partner_user.force_login(owner)
    page = partner_user.get(fill(route, pattern, dict.fromkeys(path_names(route)), world))
    html = not page.streaming and page.get("Content-Type", "").startswith("text/html")
    base = form_fields(page.content) if html else {}
    base.pop("csrfmiddlewaretoken", None)
    names = sorted(set(code_names) | set(base))
    failures = []

    @settings(
        max_examples=EXAMPLES_PER_URL,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(chosen=path_values(route), query=parameters(names, {}), form=parameters(names, base))
    def requests(chosen, query, form):
        path = fill(route, pattern, chosen, world)
        partner_user.force_login(owner)  # a page before may have signed out or switched business
        for who, client in people.items():
            for method, status in (
                ("GET", status_of(client.get(path, query))),
                ("POST", status_of(client.post(path, form))),
            ):
                if status >= 500:
                    sent = query if method == "GET" else form
                    failures.append(f"{method} {path} as {who}: {status} {str(sent)[:300]}")

    # Besides the generated cases, two every URL gets: a NUL in each path parameter and query value, and
    # the real path with every name the code reads set to a number no column holds.
    nul = example(
        chosen=dict.fromkeys(path_names(route), "a\x00"), query={"q": "\x00"}, form={**base, "q": "\x00"}
    )
    huge = dict.fromkeys(names, "1e400")
    requests = example(chosen=dict.fromkeys(path_names(route)), query=huge, form={**base, **huge})(requests)
    nul(requests)()
    return failures


def path_names(route: str) -> list[str]:
    return [match["name"] for match in PARAMETER.finditer(route)]
