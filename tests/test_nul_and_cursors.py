"""Issue 20, item 6: a NUL character anywhere a person or a script can put one, and a list cursor holding
a number no column holds, are 4xx answers, never a 500."""

import base64
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from tests.factories.invoicing import make_invoice
from tests.payments.test_pay_page import customer, invoice, page_url, token  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def anonymous():
    return Client(raise_request_exception=False)


@pytest.mark.parametrize(
    "path",
    [
        "/brand/%00/",
        "/invitations/%00/",
        "/pay/%00/",
        "/login/?next=%00",
        "/password-reset/?%00=1",
        "/healthz?x=%00",
    ],
)
def test_a_nul_in_a_path_or_a_query_is_a_400_that_says_why(anonymous, path):
    response = anonymous.get(path)
    assert response.status_code == 400
    assert "NUL character" in response.content.decode()


def test_a_nul_in_the_pay_result_query_is_a_400(anonymous, token):  # noqa: F811
    assert anonymous.get(page_url(token, "pay_result") + "?attempt=%00").status_code == 400


def test_a_nul_in_a_form_field_or_a_cookie_is_a_400(anonymous, owner_client):
    assert (
        anonymous.post(reverse("login"), {"username": "a\x00@example.com", "password": "x"}).status_code
        == 400
    )
    owner_client.raise_request_exception = False
    assert owner_client.post(reverse("customer_create"), {"name": "Ada\x00"}).status_code == 400
    anonymous.cookies["sessionid"] = "abcdefgh\x00"
    assert anonymous.get(reverse("login")).status_code == 400


def test_a_file_upload_may_hold_nul_bytes(owner_client):
    upload = SimpleUploadedFile("logo.png", b"\x89PNG\x00\x00\x00", content_type="image/png")
    response = owner_client.post(reverse("settings_details"), {"logo_upload": upload})
    assert "NUL character" not in response.content.decode()  # the logo's own check answers


def cursor(*values) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode().rstrip("=")


def raw_cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "value",
    [
        raw_cursor('["next", Infinity, 1]'),
        raw_cursor('["next", -Infinity, 1]'),
        raw_cursor('["next", NaN, 1]'),
        raw_cursor('["next", 1e400, 1]'),
        raw_cursor('["next", ' + "9" * 30 + ", 1]"),
        raw_cursor('["next", ' + "9" * 5000 + ", 1]"),
        raw_cursor('["next", 100, 1e400]'),
        raw_cursor('["next", 100, ' + "9" * 30 + "]"),
        cursor("next", 1.5, 1),
        cursor("next", True, 1),
        "Infinity",
        "%FF%FE",
        "\u00e9t\u00e9",
        "x" * 5000,
    ],
)
@pytest.mark.parametrize("sort", ["total", "due"])
def test_a_list_cursor_holding_a_number_no_column_holds_shows_the_first_page(
    owner_client, partner, value, sort
):
    make_invoice(partner, lines=[("One", "1", 10_000, "0")])
    response = owner_client.get(reverse("invoice_list"), {"sort": sort, "cursor": value})
    assert response.status_code == 200
    assert "INV-" in response.content.decode()


@pytest.mark.parametrize(
    "value", [raw_cursor('["2026-01-01T00:00:00+00:00", 1, 1e400]'), raw_cursor("[NaN, 1, 1]")]
)
def test_an_activity_cursor_holding_a_non_finite_number_shows_the_first_page(owner_client, value):
    assert owner_client.get(reverse("activity_log"), {"cursor": value}).status_code == 200
