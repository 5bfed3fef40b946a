import pytest
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse

from reminders.models import CapturedEmail

pytestmark = pytest.mark.django_db


@pytest.fixture
def outbox_backend(settings):
    settings.EMAIL_BACKEND = "reminders.backends.OutboxEmailBackend"


def send_sample():
    message = EmailMultiAlternatives(
        subject="Invoice INV-0001 from Northwind",
        body="Pay here: http://testserver/pay/abc/",
        to=["customer@example.com"],
        cc=["ap@example.com"],
    )
    message.attach_alternative('<p>Pay <a href="http://testserver/pay/abc/">here</a></p>', "text/html")
    message.attach("INV-0001.pdf", b"%PDF-1.7 sample", "application/pdf")
    message.send()


def test_the_outbox_backend_keeps_the_whole_message(outbox_backend):
    send_sample()
    email = CapturedEmail.objects.get()
    assert email.to == "customer@example.com, ap@example.com"
    assert "http://testserver/pay/abc/" in email.body("plain")
    assert '<a href="http://testserver/pay/abc/">' in email.body("html")
    assert email.attachments() == [("INV-0001.pdf", "application/pdf", len(b"%PDF-1.7 sample"))]


def test_the_outbox_pages_list_show_and_render_emails_with_clickable_links(outbox_backend, client):
    send_sample()
    email = CapturedEmail.objects.get()
    listing = client.get(reverse("outbox_list")).content.decode()
    assert "Invoice INV-0001 from Northwind" in listing
    detail = client.get(reverse("outbox_detail", kwargs={"email_id": email.pk})).content.decode()
    assert '<a href="http://testserver/pay/abc/"' in detail  # the text part, urlized
    assert reverse("outbox_html", kwargs={"email_id": email.pk}) in detail
    html = client.get(reverse("outbox_html", kwargs={"email_id": email.pk}))
    assert '<a href="http://testserver/pay/abc/">' in html.content.decode()
    assert "sandbox" in html["Content-Security-Policy"]
    assert "script-src" not in html["Content-Security-Policy"]  # default-src 'none' blocks scripts
    attachment = client.get(reverse("outbox_attachment", kwargs={"email_id": email.pk, "index": 0}))
    assert attachment.content == b"%PDF-1.7 sample"
    assert (
        client.get(reverse("outbox_attachment", kwargs={"email_id": email.pk, "index": 5})).status_code == 404
    )


def test_the_outbox_is_not_served_unless_enabled(client, settings):
    settings.DEV_OUTBOX_ENABLED = False
    assert client.get(reverse("outbox_list")).status_code == 404
