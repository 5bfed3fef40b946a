"""Schemathesis generates requests from the API's own OpenAPI document, a few per operation, and checks
every answer: never a server error, and always what the schema says (status, content type, body)."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis import checks

from api.v1 import api
from tests.api.conftest import new_key
from tests.factories.invoicing import customer_for, make_invoice
from tests.factories.payments import card_for
from tests.factories.recurring import make_schedule

# 41 operations, 5 examples each: about as many requests as 34 with 6 before, to keep make test fast.
EXAMPLES_PER_OPERATION = 5
schema = schemathesis.openapi.from_dict(api.get_openapi_schema())
# Refunds commit before they call the gateway, so they can't run inside a test's transaction: they get
# a committed database of their own (slower, as it is emptied after).
REFUNDS = {"method": "POST", "path_regex": r"/refunds$"}
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]
bounded = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)


@pytest.fixture(autouse=True)
def _fuzzed_numbers_are_not_cards(settings):
    """The fuzzer's random integers can pass the Luhn check; the API has no card fields to guard."""
    settings.CARD_NUMBER_GUARD = False


@pytest.fixture
def key(partner) -> str:
    """Made once per operation: a read-write key of a partner with a customer, a saved card, an open
    invoice, a draft and a recurring payment, so that ids the fuzzer picks sometimes exist (1, 2, ...)
    and sometimes not."""
    customer = customer_for(partner)
    card_for(customer)
    make_invoice(partner, customer=customer)
    make_invoice(partner, customer=customer, finalize=False)
    make_schedule(partner, start_date=partner.today(), customer=customer)
    return new_key(partner)


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """As Django's own test client does: a request through the WSGI handler must not close the database
    connection that holds the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _check(case, key):
    case.call_and_validate(
        app=get_wsgi_application(), headers={"Authorization": f"Bearer {key}"}, checks=CHECKS
    )


@pytest.mark.django_db
@schema.exclude(**REFUNDS).parametrize()
@bounded
def test_the_api_answers_every_generated_request_as_its_schema_says(case, key):
    _check(case, key)


@pytest.mark.django_db(transaction=True)
@schema.include(**REFUNDS).parametrize()
@bounded
def test_refunds_answer_every_generated_request_as_their_schema_says(case, key):
    _check(case, key)
