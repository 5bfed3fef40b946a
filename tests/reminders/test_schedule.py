"""The reminder schedule, frozen in time: when each email goes, catch-up after an outage, what is skipped
and why, stopping on payment, and exactly once under two concurrent runs."""

import datetime
import threading

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django_scopes import scope, scopes_disabled

from invoicing.models import EventKind, InvoiceStatus, PaymentOption
from payments.models import PaymentMethodType
from payments.services import payment_record_offline
from reminders import schedule
from reminders.models import (
    EmailStatus,
    Notification,
    NotificationKind,
    NotificationSettings,
    NotificationStatus,
    OutboundEmail,
)
from tests.conftest import email_new_invoices
from tests.factories import PartnerFactory
from tests.factories.invoicing import customer_for, make_invoice

UTC = datetime.UTC
NEW_YORK = "America/New_York"
# Monday Mar 2, 2026, 10:00 in New York (EST, UTC-5). US daylight saving starts Sunday Mar 8.
ISSUED = datetime.datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


@pytest.fixture
def partner(db):
    return email_new_invoices(
        PartnerFactory(name="Northwind IT", timezone=NEW_YORK)
    )  # these tests follow the invoice email too


def issue(partner, django_capture_on_commit_callbacks, **options):
    """An invoice due Mar 12 (in 10 days), issued at ISSUED, with its creation email sent."""
    with time_machine.travel(ISSUED, tick=False), django_capture_on_commit_callbacks(execute=True):
        return make_invoice(partner, due_in_days=10, **options)


def run(at: datetime.datetime, django_capture_on_commit_callbacks) -> int:
    with time_machine.travel(at, tick=False), django_capture_on_commit_callbacks(execute=True):
        return schedule.notifications_send_due()


def plan(invoice) -> dict[tuple[str, int], Notification]:
    with scopes_disabled():
        return {(n.kind, n.offset_days): n for n in Notification.objects.filter(invoice=invoice)}


def subjects() -> list[str]:
    return [message.subject for message in mail.outbox]


def test_issuing_emails_the_invoice_and_plans_reminders_at_nine_local(
    partner, django_capture_on_commit_callbacks
):
    invoice = issue(partner, django_capture_on_commit_callbacks)

    assert subjects() == [f"Invoice {invoice.number} from Northwind IT: $100.00 due Mar 12, 2026"]
    local = {key: n.send_at.astimezone(partner.zone) for key, n in plan(invoice).items()}
    assert {key: (when.date().isoformat(), when.hour) for key, when in local.items()} == {
        (NotificationKind.INVOICE, 0): ("2026-03-02", 10),
        (NotificationKind.BEFORE_DUE, -7): ("2026-03-05", 9),
        (NotificationKind.BEFORE_DUE, -1): ("2026-03-11", 9),
        (NotificationKind.ON_DUE, 0): ("2026-03-12", 9),
        (NotificationKind.OVERDUE, 3): ("2026-03-15", 9),
        (NotificationKind.OVERDUE, 7): ("2026-03-19", 9),
        (NotificationKind.OVERDUE, 14): ("2026-03-26", 9),
    }
    # 9:00 in New York is 14:00 UTC before daylight saving time and 13:00 after it.
    assert plan(invoice)[(NotificationKind.BEFORE_DUE, -7)].send_at == datetime.datetime(
        2026, 3, 5, 14, tzinfo=UTC
    )
    assert plan(invoice)[(NotificationKind.ON_DUE, 0)].send_at == datetime.datetime(
        2026, 3, 12, 13, tzinfo=UTC
    )
    with scopes_disabled():
        email = OutboundEmail.objects.get(invoice=invoice)
        assert email.status == EmailStatus.SENT
        assert email.esp_message_id
        assert invoice.events.filter(kind=EventKind.SENT).count() == 1


def test_each_reminder_goes_at_its_hour_exactly_once(partner, django_capture_on_commit_callbacks):
    invoice = issue(partner, django_capture_on_commit_callbacks)
    mail.outbox.clear()

    assert run(datetime.datetime(2026, 3, 5, 13, 59, tzinfo=UTC), django_capture_on_commit_callbacks) == 0
    assert mail.outbox == []
    assert run(datetime.datetime(2026, 3, 5, 14, 0, tzinfo=UTC), django_capture_on_commit_callbacks) == 1
    assert run(datetime.datetime(2026, 3, 5, 14, 1, tzinfo=UTC), django_capture_on_commit_callbacks) == 0
    assert subjects() == [f"Reminder: invoice {invoice.number} from Northwind IT ($100.00) is due in 7 days"]
    assert mail.outbox[0].to == [invoice.customer.email]

    for day, hour in [(11, 13), (12, 13), (15, 13), (19, 13), (26, 13)]:
        run(datetime.datetime(2026, 3, day, hour, 0, tzinfo=UTC), django_capture_on_commit_callbacks)
    assert subjects()[1:] == [
        f"Reminder: invoice {invoice.number} from Northwind IT ($100.00) is due tomorrow",
        f"Invoice {invoice.number} from Northwind IT ($100.00) is due today",
        f"invoice {invoice.number} from Northwind IT is 3 days overdue ($100.00)",
        f"Second reminder: invoice {invoice.number} from Northwind IT is 7 days overdue ($100.00)",
        f"Final reminder: invoice {invoice.number} from Northwind IT is 14 days overdue ($100.00)",
    ]
    assert {n.status for n in plan(invoice).values()} == {NotificationStatus.SENT}
    with scopes_disabled():
        assert invoice.events.filter(kind=EventKind.REMINDER_SENT).count() == 6


def test_after_an_outage_the_latest_due_reminder_goes_late_and_older_ones_are_skipped(
    partner, django_capture_on_commit_callbacks
):
    invoice = issue(partner, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    # Nothing ran from Mar 3 until Mar 13, 10:00 UTC: the due-date reminder is 21 hours late (inside the
    # 2-day window), the day-before one is superseded by it, the week-before one is 8 days late.
    run(datetime.datetime(2026, 3, 13, 10, 0, tzinfo=UTC), django_capture_on_commit_callbacks)

    assert subjects() == [f"Invoice {invoice.number} from Northwind IT ($100.00) is due today"]
    slots = plan(invoice)
    assert slots[(NotificationKind.ON_DUE, 0)].status == NotificationStatus.SENT
    week = slots[(NotificationKind.BEFORE_DUE, -7)]
    assert week.status == NotificationStatus.SKIPPED
    assert week.skip_reason == "Not sent on time (7 days late): older than the 2-day catch-up window"
    day_before = slots[(NotificationKind.BEFORE_DUE, -1)]
    assert day_before.status == NotificationStatus.SKIPPED
    assert day_before.skip_reason == "Not sent on time; a later reminder went instead"
    assert slots[(NotificationKind.OVERDUE, 3)].status == NotificationStatus.SCHEDULED


def test_a_reminder_older_than_the_window_is_skipped_even_alone(partner, django_capture_on_commit_callbacks):
    invoice = issue(partner, django_capture_on_commit_callbacks)
    with scope(partner=partner):
        NotificationSettings.objects.update_or_create(partner=partner, defaults={"catch_up_days": 1})
    mail.outbox.clear()
    run(datetime.datetime(2026, 3, 6, 15, 0, tzinfo=UTC), django_capture_on_commit_callbacks)  # 25 h late
    assert mail.outbox == []
    reminder = plan(invoice)[(NotificationKind.BEFORE_DUE, -7)]
    assert reminder.status == NotificationStatus.SKIPPED
    assert "older than the 1-day catch-up window" in reminder.skip_reason


def test_payment_stops_reminders_and_sends_one_receipt(partner, django_capture_on_commit_callbacks):
    invoice = issue(partner, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    paid_at = datetime.datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
    with (
        time_machine.travel(paid_at, tick=False),
        scope(partner=partner),
        django_capture_on_commit_callbacks(execute=True),
    ):
        payment_record_offline(
            invoice=invoice,
            amount=10_000,
            method=PaymentMethodType.CHECK,
            received_on=partner.today(),
            reference="1042",
            actor=None,
        )
    assert subjects() == [f"Receipt for invoice {invoice.number} from Northwind IT"]
    assert "Amount paid: $100.00" in mail.outbox[0].body

    for day in (5, 11, 12, 15, 19, 26):
        run(datetime.datetime(2026, 3, day, 20, 0, tzinfo=UTC), django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1
    reminders = [n for (kind, _), n in plan(invoice).items() if kind not in ("invoice", "receipt")]
    assert {(n.status, n.skip_reason) for n in reminders} == {
        (NotificationStatus.SKIPPED, "The invoice is paid")
    }
    with scopes_disabled():
        assert Notification.objects.filter(invoice=invoice, kind=NotificationKind.RECEIPT).count() == 1


def test_a_customer_who_opted_out_gets_no_invoice_email_nor_reminders(
    partner, django_capture_on_commit_callbacks
):
    customer = customer_for(partner, email_reminders=False)
    invoice = issue(partner, django_capture_on_commit_callbacks, customer=customer)
    run(datetime.datetime(2026, 3, 5, 14, 0, tzinfo=UTC), django_capture_on_commit_callbacks)
    assert mail.outbox == []
    assert (
        plan(invoice)[(NotificationKind.BEFORE_DUE, -7)].skip_reason
        == "The customer turned off automatic emails"
    )


def test_email_payment_link_emails_the_invoice_even_when_creation_emails_are_off(
    partner, django_capture_on_commit_callbacks
):
    with scope(partner=partner):
        NotificationSettings.objects.update_or_create(partner=partner, defaults={"email_on_creation": False})
    invoice = issue(
        partner, django_capture_on_commit_callbacks, payment_option=PaymentOption.EMAIL_PAYMENT_LINK
    )
    assert subjects() == [f"Invoice {invoice.number} from Northwind IT: $100.00 due Mar 12, 2026"]
    mail.outbox.clear()
    issue(partner, django_capture_on_commit_callbacks)  # Charge later, creation emails off: none
    assert mail.outbox == []


def test_changing_the_settings_replans_open_invoices(partner, django_capture_on_commit_callbacks):
    invoices = [issue(partner, django_capture_on_commit_callbacks) for _ in range(3)]
    with scope(partner=partner):
        NotificationSettings.objects.update_or_create(
            partner=partner, defaults={"days_before_due": [2], "days_after_due": [5], "send_hour": 8}
        )
        with time_machine.travel(datetime.datetime(2026, 3, 3, 12, 0, tzinfo=UTC), tick=False):
            assert schedule.partner_replan(partner=partner, chunk=2) == 3  # read in two chunks
    for invoice in invoices:
        reminders = {
            key: n.send_at.astimezone(partner.zone) for key, n in plan(invoice).items() if key[0] != "invoice"
        }
        assert {key: (when.day, when.hour) for key, when in reminders.items()} == {
            (NotificationKind.BEFORE_DUE, -2): (10, 8),
            (NotificationKind.ON_DUE, 0): (12, 8),
            (NotificationKind.OVERDUE, 5): (17, 8),
        }


def test_receipt_of_an_automatic_charge_at_midnight_waits_for_the_sending_hour(partner):
    prefs = NotificationSettings(partner=partner)
    midnight = datetime.datetime(2026, 3, 12, 4, 1, tzinfo=UTC)  # 00:01 in New York
    assert schedule.sending_time(partner=partner, prefs=prefs, now=midnight) == datetime.datetime(
        2026, 3, 12, 13, 0, tzinfo=UTC
    )
    evening = datetime.datetime(2026, 3, 13, 1, 30, tzinfo=UTC)  # 21:30 in New York
    assert schedule.sending_time(partner=partner, prefs=prefs, now=evening) == datetime.datetime(
        2026, 3, 13, 13, 0, tzinfo=UTC
    )
    afternoon = datetime.datetime(2026, 3, 12, 19, 0, tzinfo=UTC)
    assert schedule.sending_time(partner=partner, prefs=prefs, now=afternoon) == afternoon


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_send_each_reminder_once():
    """Two runners on their own database connections race over the same due reminders."""
    partner = PartnerFactory(name="Northwind IT", timezone=NEW_YORK)
    with scope(partner=partner):
        NotificationSettings.objects.create(partner=partner, email_on_creation=False, attach_pdf=False)
    with time_machine.travel(ISSUED, tick=False):
        invoices = [make_invoice(partner, due_in_days=10) for _ in range(40)]
    mail.outbox.clear()
    at = datetime.datetime(2026, 3, 5, 14, 0, tzinfo=UTC)
    barrier = threading.Barrier(2)
    decided: list[int] = []

    def runner() -> None:
        try:
            barrier.wait()
            decided.append(schedule.notifications_send_due(now=at, batch=3))
        finally:
            connection.close()

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(decided) == 40
    assert all(decided), decided  # both runners did part of the work
    recipients = sorted(message.to[0] for message in mail.outbox)
    assert recipients == sorted(invoice.customer.email for invoice in invoices)
    with scopes_disabled():
        assert OutboundEmail.objects.filter(status=EmailStatus.SENT).count() == 40
        assert Notification.objects.filter(kind=NotificationKind.BEFORE_DUE, status="sent").count() == 40


def test_a_paid_or_void_invoice_is_not_sent_by_hand(partner, django_capture_on_commit_callbacks):
    from django.core.exceptions import ValidationError

    from invoicing.services import invoice_void
    from reminders.services import invoice_send

    invoice = issue(partner, django_capture_on_commit_callbacks)
    with scope(partner=partner):
        invoice = invoice_void(invoice=invoice, actor=None)
        assert invoice.status == InvoiceStatus.VOID
        with pytest.raises(ValidationError):
            invoice_send(invoice=invoice, actor=None)
