"""What every page promises: security headers, no inline script or style, landmarks and labels."""

import re

import pytest
from django.contrib import admin
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PAGES = [
    "dashboard",
    "invoice_list",
    "recurring_list",
    "recurring_create",
    "customer_list",
    "customer_create",
    "settings_details",
    "team",
    "developers",
]
PUBLIC_PAGES = ["login", "password_reset"]


def assert_clean_html(body: str, name: str) -> None:
    inline_scripts = [s for s in re.findall(r"<script\b[^>]*>", body) if "src=" not in s]
    assert inline_scripts == [], f"{name} has inline <script>"
    assert not re.search(r"\sstyle=", body), f"{name} has a style attribute"
    assert not re.search(r"\son[a-z]+=", body), f"{name} has an inline event handler"
    assert "https://" not in re.sub(r'href="https://[^"]*"', "", body), f"{name} loads something remote"


@pytest.mark.parametrize("name", PAGES)
def test_partner_pages_have_landmarks_csp_and_no_inline_code(owner_client, name):
    response = owner_client.get(reverse(name))
    body = response.content.decode()
    assert response.status_code == 200
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    for landmark in ("<header", "<nav", "<main", 'class="skip-link"'):
        assert landmark in body, f"{name} lacks {landmark}"
    assert_clean_html(body, name)


@pytest.mark.parametrize("name", PUBLIC_PAGES)
def test_public_pages_have_csp_and_no_inline_code(client, name):
    response = client.get(reverse(name))
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert_clean_html(response.content.decode(), name)


@pytest.mark.parametrize(
    "name", ["settings_details", "team", "customer_list", "customer_create", "recurring_create", "login"]
)
def test_every_form_input_has_a_label(owner_client, client, name):
    body = (client if name == "login" else owner_client).get(reverse(name)).content.decode()
    ids = re.findall(
        r'<(?:input|select|textarea)\b(?![^>]*type="(?:hidden|submit)")[^>]*\bid="([^"]+)"', body
    )
    assert ids
    for input_id in ids:
        assert f'for="{input_id}"' in body or re.search(
            rf'<label[^>]*>\s*<input[^>]*id="{input_id}"', body
        ), f"{name}: #{input_id} has no label"


def test_htmx_is_served_by_the_app_not_a_cdn(client):
    body = client.get(reverse("login")).content.decode()
    assert re.search(r'<script src="/static/django_htmx/htmx-2(\.min)?\.js"', body)


def test_every_model_is_in_the_admin_and_its_list_loads_with_search(client):
    from django.apps import apps

    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    ours = [
        m
        for m in apps.get_models()
        if m._meta.app_label in {"partners", "customers", "invoicing", "payments", "reminders"}
    ]
    for model in ours:
        assert model in admin.site._registry, f"{model.__name__} is not in the admin"
        model_admin = admin.site._registry[model]
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        response = client.get(url, {"q": "x"} if model_admin.search_fields else {})
        assert response.status_code == 200, url
        assert len(model_admin.list_display) > 1, f"{model.__name__} admin shows only __str__"


def test_malformed_requests_get_4xx_not_500(owner_client, client):
    assert (
        client.post(
            reverse("login"), data=b"\xff\xfe", content_type="application/x-www-form-urlencoded"
        ).status_code
        < 500
    )
    assert owner_client.post(reverse("team"), {"email": "x" * 500, "role": "member"}).status_code == 200
    assert owner_client.get("/settings/team/99999999999999999999/remove/").status_code in (404, 405)
    assert client.get("/invitations/%00/").status_code == 400
    assert client.get("/brand/..%2F..%2Fetc%2Fpasswd/").status_code == 404
