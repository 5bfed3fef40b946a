"""The email provider's tracking webhook as the internet sees it: only the configured provider's URL
answers, and whatever is posted to it is a 200 or a 4xx, never a server error."""

import base64
import json
from unittest import mock

import pytest
from django.test import override_settings

from reminders.tracking import TrackingEventNotApplied

SECRET = "postmark-hook:webhook-secret-2026"
# Providers whose tracking webhook is guarded by the basic-auth secret alone (others also need a
# signing key of their own, which a deployment using them configures).
BASIC_AUTH_ESPS = ["postmark", "brevo", "mailjet", "sparkpost"]
# Payloads a provider could post, if oddly: each is applied or refused, never a server error.
ODD_BUT_PARSEABLE = ["[]", "{}", "[{}]", '{"RecordType": 5, "MessageID": []}', '[{"event": {}}]']


def esp(name: str, secret: str | None = SECRET):
    return override_settings(EMAIL_ESP=name, ANYMAIL={} if secret is None else {"WEBHOOK_SECRET": secret})


def post(client, path: str, body: bytes | str = b"{}", secret: str = SECRET):
    token = base64.b64encode(secret.encode()).decode()
    return client.post(path, data=body, content_type="application/json", HTTP_AUTHORIZATION=f"Basic {token}")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/anymail/sendgrid/tracking/", "/anymail/mailgun/tracking/", "/anymail/postmark/inbound/"]
)
def test_other_providers_webhooks_are_not_there(client, path):
    with esp("postmark"):
        assert post(client, path).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("configured", ["smtp", "outbox", "console"])
def test_without_an_email_provider_no_webhook_is_there(client, configured):
    with esp(configured):
        assert post(client, "/anymail/postmark/tracking/").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("name", BASIC_AUTH_ESPS)
@pytest.mark.parametrize("body", ["null", "1", '"text"', "{not json", "", "[1]", "[null]", b"\xff\xfe"])
def test_a_malformed_payload_is_logged_and_refused(client, caplog, name, body):
    with esp(name), caplog.at_level("WARNING", logger="reminders.webhooks"):
        response = post(client, f"/anymail/{name}/tracking/", body)
    assert response.status_code == 400
    assert f"Rejected a malformed webhook at /anymail/{name}/tracking/" in caplog.text


@pytest.mark.django_db
def test_a_list_where_postmark_posts_one_event_is_refused(client):
    with esp("postmark"):
        assert post(client, "/anymail/postmark/tracking/", "[]").status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize("name", BASIC_AUTH_ESPS)
@pytest.mark.parametrize("body", ODD_BUT_PARSEABLE)
def test_an_odd_but_parseable_payload_is_never_a_server_error(client, name, body):
    with esp(name):
        assert post(client, f"/anymail/{name}/tracking/", body).status_code in (200, 400)


@pytest.mark.django_db
def test_a_failure_applying_a_good_event_is_a_server_error_so_the_provider_retries(client):
    delivery = {"RecordType": "Delivery", "MessageID": "883953f4", "Recipient": "ap@acme.example"}
    with (
        esp("postmark"),
        mock.patch("reminders.tracking._find", side_effect=ValueError("database said no")),
        pytest.raises(TrackingEventNotApplied),
    ):
        post(client, "/anymail/postmark/tracking/", json.dumps(delivery))
