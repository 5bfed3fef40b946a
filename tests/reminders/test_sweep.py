"""The beat sweep: an email whose task was lost is handed to a worker again; one whose worker died
while sending is marked failed instead of being sent a second time."""

import datetime
import io

import time_machine
from django.core import mail
from django.core.management import call_command
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from invoicing.models import EventKind
from reminders.models import EmailStatus, NotificationSettings, OutboundEmail
from reminders.services import emails_sweep, invoice_send
from tests.factories.invoicing import make_invoice


def queued_email(partner) -> OutboundEmail:
    """Send pressed, committed, but its task never reached a worker (the broker was down)."""
    with scope(partner=partner):
        NotificationSettings.objects.create(partner=partner, email_on_creation=False)
    invoice = make_invoice(partner)
    with scope(partner=partner):
        return invoice_send(invoice=invoice, actor=None)  # no on_commit here: the task is "lost"


def test_a_lost_email_is_sent_by_the_sweep_a_minute_later(partner, django_capture_on_commit_callbacks):
    email = queued_email(partner)
    with django_capture_on_commit_callbacks(execute=True):
        assert emails_sweep(now=timezone.now()) == 0  # too fresh: its own task may still come
    later = timezone.now() + datetime.timedelta(minutes=2)
    with time_machine.travel(later, tick=False), django_capture_on_commit_callbacks(execute=True):
        call_command("send_reminders", stdout=(out := io.StringIO()))
    assert out.getvalue().strip() == "Decided 0 notification(s); handed 1 unsent email(s) to a worker."
    assert len(mail.outbox) == 1
    with scopes_disabled():
        assert OutboundEmail.objects.get(pk=email.pk).status == EmailStatus.SENT


def test_an_email_left_sending_by_a_dead_worker_is_failed_not_resent(
    partner, django_capture_on_commit_callbacks
):
    email = queued_email(partner)
    with scopes_disabled():
        OutboundEmail.objects.filter(pk=email.pk).update(status=EmailStatus.SENDING, tries=1)
    later = timezone.now() + datetime.timedelta(minutes=11)
    with django_capture_on_commit_callbacks(execute=True):
        emails_sweep(now=later)
    assert mail.outbox == []
    with scopes_disabled():
        email = OutboundEmail.objects.get(pk=email.pk)
        assert email.status == EmailStatus.FAILED
        assert "may not have gone out" in email.last_error
        line = email.invoice.events.get(kind=EventKind.EMAIL)
    assert line.message.startswith("Invoice: The worker stopped while sending")
