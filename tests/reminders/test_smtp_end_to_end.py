"""End to end: the partner presses Send, the email leaves through Django's SMTP backend to a real SMTP
server on 127.0.0.1 (aiosmtpd), and what arrived is parsed like a mail client would: subject, the
text and HTML parts, the pay link (which opens the hosted invoice page), and the PDF."""

import re
import socket
from email import message_from_bytes, policy
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from django.test import Client, override_settings
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from invoicing.models import EventKind
from reminders.models import EmailStatus, NotificationSettings, OutboundEmail
from tests.factories import PartnerFactory
from tests.factories.invoicing import customer_for, make_invoice


class Inbox:
    """aiosmtpd handler: keeps every message it is handed, with its envelope."""

    def __init__(self):
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    with socket.socket() as probe:  # a free port (aiosmtpd checks readiness by connecting to it)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=port,
            EMAIL_USE_TLS=False,
            EMAIL_HOST_USER="",
            EMAIL_HOST_PASSWORD="",
        ):
            yield inbox
    finally:
        controller.stop()


@pytest.fixture
def partner(db):
    partner = PartnerFactory(name="Northwind IT", brand_colour="#0b6e4f", email="billing@northwind.example")
    with scope(partner=partner):
        NotificationSettings.objects.create(partner=partner, email_on_creation=False)
    return partner


def test_send_delivers_a_branded_invoice_email_with_pay_link_and_pdf(
    smtp_server, partner, owner_client, django_capture_on_commit_callbacks
):
    customer = customer_for(
        partner, name="Ada Ops", company="Acme Corp", email="ap@acme.example", cc_emails=["cfo@acme.example"]
    )
    invoice = make_invoice(
        partner, customer=customer, lines=[("Managed services, March", "1", 125_000, "0")], memo="PO 7731"
    )
    assert smtp_server.messages == []  # creation emails are off for this partner

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(reverse("invoice_send", args=[invoice.pk]))
    assert response.status_code == 302

    [(mail_from, rcpt_tos, raw)] = smtp_server.messages
    assert sorted(rcpt_tos) == ["ap@acme.example", "cfo@acme.example"]
    message = message_from_bytes(raw, policy=policy.default)
    assert (
        message["Subject"]
        == f"Invoice {invoice.number} from Northwind IT: $1,250.00 due {invoice.due_date:%b %-d, %Y}"
    )
    assert message["From"] == "Northwind IT <billing@localhost>"
    assert mail_from == "billing@localhost"
    assert message["To"] == "ap@acme.example"
    assert message["Cc"] == "cfo@acme.example"
    assert message["Reply-To"] == "billing@northwind.example"

    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    for part in (text, html):
        assert "$1,250.00" in part
        assert "PO 7731" in part
        assert invoice.due_date.strftime("%b %-d, %Y") in part
    assert "#0b6e4f" in html  # the partner's colour

    links = re.findall(r"http://\S+/pay/[A-Za-z0-9_-]+/", text)
    assert len(links) == 1
    assert links[0] in html
    page = Client().get(urlsplit(links[0]).path)
    assert page.status_code == 200
    assert invoice.number in page.content.decode()
    assert "$1,250.00" in page.content.decode()

    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == f"{invoice.number}.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_payload(decode=True).startswith(b"%PDF-")

    with scopes_disabled():
        email = OutboundEmail.objects.get(invoice=invoice)
        assert email.status == EmailStatus.SENT
        assert email.esp_message_id == message["Message-ID"]
        sent = invoice.events.get(kind=EventKind.SENT)
    assert sent.message == "Invoice emailed to ap@acme.example, cfo@acme.example"
    assert sent.actor.email == "owner@northwind.example"


def test_an_smtp_server_that_refuses_leaves_the_email_retrying_not_sent(
    partner, owner_client, django_capture_on_commit_callbacks
):
    invoice = make_invoice(partner)
    with (
        override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_HOST="127.0.0.1", EMAIL_PORT=9
        ),
        django_capture_on_commit_callbacks(execute=True),
    ):
        owner_client.post(reverse("invoice_send", args=[invoice.pk]))
    with scopes_disabled():
        email = OutboundEmail.objects.get(invoice=invoice)
        assert email.status == EmailStatus.RETRYING
        assert not invoice.events.filter(kind=EventKind.SENT).exists()
    body = owner_client.get(reverse("invoice_detail", args=[invoice.pk])).content.decode()
    assert "Send failed, retrying" in body


def test_an_invoice_charged_at_issue_is_answered_by_its_receipt_not_an_invoice_email(
    partner, django_capture_on_commit_callbacks
):
    from django.core import mail

    from invoicing.models import PaymentOption
    from tests.factories.payments import card_for

    with scope(partner=partner):
        NotificationSettings.objects.filter(partner=partner).update(email_on_creation=True)
    customer = customer_for(partner, email="ap@acme.example")
    card_for(customer)
    with django_capture_on_commit_callbacks(execute=True):
        invoice = make_invoice(partner, customer=customer, payment_option=PaymentOption.CHARGE_NOW)
    # "Email new invoices" is on, but the charge's outcome is what the customer hears: once, and true.
    [email] = mail.outbox
    assert email.subject == f"Receipt for invoice {invoice.number} from {partner.name}"
    assert "received your payment" in email.body
