"""Delivery status through Postmark, the production ESP: the send result recorded from Postmark's API
answer (mocked at the HTTP layer, so Anymail's real Postmark backend parses it), then Postmark's own
webhook payloads posted to Anymail's tracking URL change the invoice timeline and pause reminders."""

import base64
import datetime
import json
from unittest import mock

import pytest
import requests
import time_machine
from django.core import mail
from django.test import override_settings
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from reminders import schedule
from reminders.models import (
    EmailStatus,
    Notification,
    NotificationKind,
    NotificationStatus,
    OutboundEmail,
    SuppressedAddress,
)
from reminders.selectors import bounced_recipients_count
from tests.conftest import email_new_invoices
from tests.factories import PartnerFactory
from tests.factories.invoicing import customer_for, make_invoice

UTC = datetime.UTC
ISSUED = datetime.datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
POSTMARK_ID = "883953f4-6105-42a2-a16a-77a8eac79483"
WEBHOOK_AUTH = "postmark-hook:webhook-secret-2026"


def postmark():
    """Anymail's real Postmark backend and webhook, with a webhook secret (HTTP basic auth)."""
    return override_settings(
        EMAIL_ESP="postmark",
        EMAIL_BACKEND="anymail.backends.postmark.EmailBackend",
        ANYMAIL={"POSTMARK_SERVER_TOKEN": "server-token", "WEBHOOK_SECRET": WEBHOOK_AUTH},
    )


def postmark_answer(to: str, message_id: str = POSTMARK_ID, status: int = 200, error_code: int = 0):
    """What Postmark's /email endpoint returns (https://postmarkapp.com/developer/api/email-api)."""
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(
        {
            "To": to,
            "SubmittedAt": "2026-03-02T10:00:00.0000000-05:00",
            "MessageID": message_id,
            "ErrorCode": error_code,
            "Message": "OK" if not error_code else "Sending failed",
        }
    ).encode()
    response.headers["Content-Type"] = "application/json"
    return response


@pytest.fixture
def partner(db):
    return email_new_invoices(
        PartnerFactory(name="Northwind IT", timezone="America/New_York", email="billing@northwind.example")
    )  # these tests follow the invoice email too


@pytest.fixture
def sent_invoice(partner, django_capture_on_commit_callbacks):
    """An invoice issued at ISSUED whose email Postmark accepted."""
    customer = customer_for(partner, email="ap@acme.example")
    with (
        postmark(),
        time_machine.travel(ISSUED, tick=False),
        mock.patch("requests.Session.request", return_value=postmark_answer("ap@acme.example")) as post,
        django_capture_on_commit_callbacks(execute=True),
    ):
        invoice = make_invoice(partner, customer=customer, due_in_days=10)
    sent = json.loads(post.call_args.kwargs["data"])
    assert sent["To"] == "ap@acme.example"
    assert sent["Metadata"]["email_id"]
    return invoice


def post_webhook(client, payload: dict, auth: str = WEBHOOK_AUTH):
    token = base64.b64encode(auth.encode()).decode()
    with postmark():
        return client.post(
            "/anymail/postmark/tracking/",
            data=json.dumps(payload),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Basic {token}",
        )


def delivery(message_id: str = POSTMARK_ID) -> dict:
    return {
        "RecordType": "Delivery",
        "ServerID": 23,
        "MessageStream": "outbound",
        "MessageID": message_id,
        "Recipient": "ap@acme.example",
        "Tag": "invoice",
        "DeliveredAt": "2026-03-02T10:00:05.0000000-05:00",
        "Details": "Test delivery webhook details",
        "Metadata": {},
    }


def hard_bounce(bounce_type: str = "HardBounce") -> dict:
    return {
        "RecordType": "Bounce",
        "ID": 4323372036854775807,
        "Type": bounce_type,
        "TypeCode": 1,
        "Name": "Hard bounce",
        "Tag": "invoice",
        "MessageID": POSTMARK_ID,
        "Metadata": {},
        "ServerID": 23,
        "MessageStream": "outbound",
        "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": "ap@acme.example",
        "From": "billing@localhost",
        "BouncedAt": "2026-03-02T10:01:00.0000000-05:00",
        "DumpAvailable": True,
        "Inactive": True,
        "CanActivate": True,
        "Subject": "Invoice INV-0001 from Northwind IT",
    }


def timeline(invoice) -> list[str]:
    with scopes_disabled():
        return [f"{e.kind}: {e.message}" for e in invoice.events.filter(kind__in=["sent", "email"])]


def the_email(invoice) -> OutboundEmail:
    with scopes_disabled():
        return OutboundEmail.objects.get(invoice=invoice, kind=NotificationKind.INVOICE)


def test_postmark_accepting_the_message_marks_the_invoice_sent_with_its_message_id(sent_invoice):
    email = the_email(sent_invoice)
    assert email.status == EmailStatus.SENT
    assert email.esp_message_id == POSTMARK_ID
    assert timeline(sent_invoice) == ["sent: Invoice emailed to ap@acme.example"]


def test_delivered_webhook_goes_on_the_timeline_once(client, sent_invoice):
    assert post_webhook(client, delivery()).status_code == 200
    assert post_webhook(client, delivery()).status_code == 200  # Postmark retries: no second line
    email = the_email(sent_invoice)
    assert email.status == EmailStatus.DELIVERED
    assert email.delivered_at == datetime.datetime(2026, 3, 2, 15, 0, 5, tzinfo=UTC)
    assert timeline(sent_invoice)[1:] == ["email: Delivered to ap@acme.example"]


def test_hard_bounce_pauses_reminders_to_that_address_and_alerts_the_partner(
    client, partner, sent_invoice, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with (
        postmark(),
        mock.patch(
            "requests.Session.request", return_value=postmark_answer("billing@northwind.example", "alert-1")
        ) as post,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert post_webhook(client, hard_bounce()).status_code == 200
    alert = json.loads(post.call_args.kwargs["data"])
    assert alert["To"] == "billing@northwind.example"
    assert alert["Subject"] == "Email to ap@acme.example bounced: automatic emails to it are paused"

    assert the_email(sent_invoice).status == EmailStatus.BOUNCED
    assert timeline(sent_invoice)[1:] == [
        "email: Bounced at ap@acme.example: automatic emails to this address are paused"
    ]
    with scope(partner=partner):
        assert bounced_recipients_count(partner=partner) == 1
        assert SuppressedAddress.objects.get().address == "ap@acme.example"

    # The week-before reminder comes due: skipped, nothing is sent to the bounced address.
    with (
        time_machine.travel(datetime.datetime(2026, 3, 5, 14, 0, tzinfo=UTC), tick=False),
        mock.patch("requests.Session.request") as post,
        django_capture_on_commit_callbacks(execute=True),
    ):
        schedule.notifications_send_due()
    post.assert_not_called()
    with scopes_disabled():
        reminder = Notification.objects.get(
            invoice=sent_invoice, kind=NotificationKind.BEFORE_DUE, offset_days=-7
        )
    assert reminder.status == NotificationStatus.SKIPPED
    assert reminder.skip_reason == "The address bounced: automatic emails to it are paused"


def test_soft_bounce_is_recorded_but_pauses_nothing(client, partner, sent_invoice):
    assert post_webhook(client, hard_bounce("SoftBounce")).status_code == 200
    with scope(partner=partner):
        assert not SuppressedAddress.objects.exists()
        assert the_email(sent_invoice).events.get().event_type == "bounced"
    assert the_email(sent_invoice).status == EmailStatus.SENT
    assert timeline(sent_invoice)[1:] == []


def test_webhook_without_the_secret_is_rejected_and_changes_nothing(client, sent_invoice):
    response = post_webhook(client, hard_bounce(), auth="postmark-hook:wrong")
    assert response.status_code == 400
    assert the_email(sent_invoice).status == EmailStatus.SENT


def test_event_for_a_message_we_never_sent_is_ignored(client, sent_invoice):
    assert (
        post_webhook(client, delivery(message_id="00000000-0000-0000-0000-000000000000")).status_code == 200
    )
    assert the_email(sent_invoice).status == EmailStatus.SENT


@pytest.mark.parametrize("email_id", ["²", "9" * 30, "-1", ""])
def test_an_event_whose_metadata_names_no_email_of_ours_is_ignored(client, sent_invoice, email_id):
    event = delivery(message_id="00000000-0000-0000-0000-000000000000") | {"Metadata": {"email_id": email_id}}

    assert post_webhook(client, event).status_code == 200
    assert the_email(sent_invoice).status == EmailStatus.SENT


def test_a_failed_send_is_retried_with_backoff_and_shown(partner, django_capture_on_commit_callbacks):
    from reminders.services import email_deliver

    customer = customer_for(partner, email="ap@acme.example")
    down = requests.ConnectionError("Postmark unreachable")
    with (
        postmark(),
        time_machine.travel(ISSUED, tick=False),
        mock.patch("requests.Session.request", side_effect=down),
        django_capture_on_commit_callbacks(execute=True),
    ):
        invoice = make_invoice(partner, customer=customer, due_in_days=10)
    email = the_email(invoice)
    assert email.status == EmailStatus.RETRYING
    assert email.tries == 1
    assert email.next_try_at == ISSUED + datetime.timedelta(minutes=1)
    assert "Postmark unreachable" in email.last_error
    assert timeline(invoice) == []  # not sent: the timeline doesn't say so

    with (
        postmark(),
        time_machine.travel(ISSUED + datetime.timedelta(minutes=1), tick=False),
        mock.patch("requests.Session.request", return_value=postmark_answer("ap@acme.example")),
    ):
        assert email_deliver(email_id=email.pk) is None
    email = the_email(invoice)
    assert email.status == EmailStatus.SENT
    assert email.tries == 2
    assert timeline(invoice) == ["sent: Invoice emailed to ap@acme.example"]


def test_after_the_last_try_the_email_has_failed_and_the_timeline_says_so(
    partner, django_capture_on_commit_callbacks
):
    from reminders.services import MAX_TRIES, email_deliver

    customer = customer_for(partner, email="ap@acme.example")
    with (
        postmark(),
        mock.patch("requests.Session.request", side_effect=requests.ConnectionError("down")),
    ):
        with django_capture_on_commit_callbacks(execute=True):
            invoice = make_invoice(partner, customer=customer, due_in_days=10)
        for _ in range(MAX_TRIES - 1):
            with scopes_disabled():
                OutboundEmail.objects.filter(invoice=invoice).update(next_try_at=ISSUED)
            email_deliver(email_id=the_email(invoice).pk)
    email = the_email(invoice)
    assert email.status == EmailStatus.FAILED
    assert email.tries == MAX_TRIES
    assert timeline(invoice) == [
        f"email: Invoice could not be sent after {MAX_TRIES} tries: {email.last_error}"
    ]


def test_invoice_page_shows_delivery_and_the_send_button(client, owner_client, partner, owner, sent_invoice):
    post_webhook(client, delivery())
    body = owner_client.get(reverse("invoice_detail", args=[sent_invoice.pk])).content.decode()
    assert "Delivered to ap@acme.example" in body
    assert reverse("invoice_send", args=[sent_invoice.pk]) in body
    assert ">Send</button>" in body


def test_a_malformed_webhook_is_logged_and_rejected(client, sent_invoice):
    token = base64.b64encode(WEBHOOK_AUTH.encode()).decode()
    with postmark():
        response = client.post(
            "/anymail/postmark/tracking/",
            data="{not json",
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Basic {token}",
        )
    assert response.status_code == 400
    assert the_email(sent_invoice).status == EmailStatus.SENT


def test_postmark_refusing_an_inactive_address_fails_the_email_without_retrying(
    partner, django_capture_on_commit_callbacks
):
    customer = customer_for(partner, email="ap@acme.example")
    inactive = postmark_answer("", message_id="", status=422, error_code=406)
    inactive._content = json.dumps(
        {
            "ErrorCode": 406,
            "Message": "You tried to send to a recipient that has been marked as inactive.\n"
            "Found inactive addresses: ap@acme.example.\n"
            "Inactive recipients are ones that have generated a hard bounce or a spam complaint. ",
        }
    ).encode()
    with (
        postmark(),
        mock.patch(
            "requests.Session.request", side_effect=[inactive, postmark_answer("billing@northwind.example")]
        ),
        django_capture_on_commit_callbacks(execute=True),
    ):
        invoice = make_invoice(partner, customer=customer, due_in_days=10)
    email = the_email(invoice)
    assert email.status == EmailStatus.FAILED
    assert email.tries == 1
    assert email.last_error == "Refused by the email provider: ap@acme.example"
    assert timeline(invoice) == ["email: Not sent: Refused by the email provider: ap@acme.example"]
    with scope(partner=partner):
        assert SuppressedAddress.objects.get().address == "ap@acme.example"
        assert OutboundEmail.objects.get(kind=NotificationKind.PARTNER_BOUNCE).status == EmailStatus.SENT


def opened(received_at: str) -> dict:
    return {
        "RecordType": "Open",
        "MessageStream": "outbound",
        "FirstOpen": True,
        "Client": {"Name": "Chrome 120", "Company": "Google", "Family": "Chrome"},
        "OS": {"Name": "Windows 10", "Company": "Microsoft", "Family": "Windows"},
        "Platform": "Desktop",
        "UserAgent": "Mozilla/5.0",
        "Geo": {"CountryISOCode": "US", "Country": "United States"},
        "MessageID": POSTMARK_ID,
        "Metadata": {},
        "ReceivedAt": received_at,
        "Tag": "invoice",
        "Recipient": "ap@acme.example",
    }


def test_the_first_open_goes_on_the_timeline_later_ones_are_only_kept(client, sent_invoice):
    assert post_webhook(client, opened("2026-03-02T10:05:00Z")).status_code == 200
    assert post_webhook(client, opened("2026-03-03T08:00:00Z")).status_code == 200
    email = the_email(sent_invoice)
    assert email.opened_at == datetime.datetime(2026, 3, 2, 10, 5, tzinfo=UTC)
    with scopes_disabled():
        assert email.events.count() == 2
    assert timeline(sent_invoice)[1:] == ["email: Opened by ap@acme.example"]


def test_a_spam_complaint_pauses_the_address(
    client, partner, sent_invoice, django_capture_on_commit_callbacks
):
    complaint = hard_bounce("SpamComplaint") | {"RecordType": "SpamComplaint", "TypeCode": 512}
    with (
        postmark(),
        mock.patch(
            "requests.Session.request", return_value=postmark_answer("billing@northwind.example", "a-2")
        ),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert post_webhook(client, complaint).status_code == 200
    assert the_email(sent_invoice).status == EmailStatus.COMPLAINED
    assert timeline(sent_invoice)[1:] == [
        "email: ap@acme.example marked it as spam: automatic emails to this address are paused"
    ]
    with scope(partner=partner):
        assert bounced_recipients_count(partner=partner) == 1


def test_an_event_is_matched_by_the_providers_message_id_never_by_our_email_id(client, partner, sent_invoice):
    """Our email ids are sequential and travel in the metadata: a forged bounce naming one pauses nothing."""
    forged = hard_bounce() | {
        "MessageID": "00000000-0000-0000-0000-000000000000",
        "Metadata": {"email_id": str(the_email(sent_invoice).pk)},
    }
    assert post_webhook(client, forged).status_code == 200
    assert the_email(sent_invoice).status == EmailStatus.SENT
    with scope(partner=partner):
        assert not SuppressedAddress.objects.exists()


@pytest.mark.parametrize(
    "secret",
    [None, "", "change-me:change-me", "hook:change-me", "no-colon-in-it", ["real:Secret2026", "change-me:x"]],
)
def test_without_a_real_webhook_secret_every_event_is_refused(client, partner, sent_invoice, caplog, secret):
    """Anymail alone accepts anyone when no secret is set, and the .env.example placeholder is public."""
    sent_auth = secret[-1] if isinstance(secret, list) else (secret or "anyone:anything")
    token = base64.b64encode(sent_auth.encode()).decode()
    anymail = {"POSTMARK_SERVER_TOKEN": "server-token"} | (
        {} if secret is None else {"WEBHOOK_SECRET": secret}
    )
    with override_settings(EMAIL_ESP="postmark", ANYMAIL=anymail), caplog.at_level("ERROR"):
        response = client.post(
            "/anymail/postmark/tracking/",
            data=json.dumps(hard_bounce()),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Basic {token}",
        )
    assert response.status_code == 403
    assert "Refused a postmark tracking webhook: ANYMAIL_WEBHOOK_SECRET" in caplog.text
    assert the_email(sent_invoice).status == EmailStatus.SENT
    with scope(partner=partner):
        assert not SuppressedAddress.objects.exists()
