"""Emails that follow money: a receipt for every payment (once), and when an automatic charge fails a
notice to the customer (with a link to pay another way) and an alert to the partner. The due-date job
charges at local midnight, so what goes to the customer waits for the sending hour."""

import datetime
import re

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django_scopes import scopes_disabled

from invoicing.models import PaymentOption
from payments import jobs
from reminders import schedule
from reminders.models import Notification, NotificationKind, NotificationStatus
from tests.conftest import email_new_invoices
from tests.factories import PartnerFactory
from tests.factories.invoicing import customer_for, make_invoice
from tests.factories.payments import DECLINED_CARD, card_for

UTC = datetime.UTC
ISSUED = datetime.datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # Mar 2, 10:00 in New York
DUE_MIDNIGHT = datetime.datetime(2026, 3, 7, 5, 0, tzinfo=UTC)  # Mar 7, 00:00 in New York (EST)
DUE_NINE = datetime.datetime(2026, 3, 7, 14, 0, tzinfo=UTC)  # Mar 7, 09:00 in New York


@pytest.fixture
def partner(db):
    return email_new_invoices(
        PartnerFactory(name="Northwind IT", timezone="America/New_York", email="billing@northwind.example")
    )  # these tests follow the invoice email too


def charged_on_due_date(partner, card: str, django_capture_on_commit_callbacks):
    customer = customer_for(partner, email="ap@acme.example")
    card_for(customer, card)
    with time_machine.travel(ISSUED, tick=False), django_capture_on_commit_callbacks(execute=True):
        invoice = make_invoice(
            partner, customer=customer, due_in_days=5, payment_option=PaymentOption.CHARGE_ON_DUE_DATE
        )
    run(DUE_NINE - datetime.timedelta(days=1), django_capture_on_commit_callbacks)  # "due tomorrow"
    mail.outbox.clear()
    with time_machine.travel(DUE_MIDNIGHT, tick=False), django_capture_on_commit_callbacks(execute=True):
        assert jobs.charge_due_invoices(now=DUE_MIDNIGHT) == 1
    return invoice


def run(at, django_capture_on_commit_callbacks) -> None:
    with time_machine.travel(at, tick=False), django_capture_on_commit_callbacks(execute=True):
        schedule.notifications_send_due()


def test_failed_automatic_charge_alerts_the_partner_now_and_the_customer_at_nine(
    partner, django_capture_on_commit_callbacks
):
    invoice = charged_on_due_date(partner, DECLINED_CARD, django_capture_on_commit_callbacks)

    [alert] = mail.outbox
    assert alert.to == ["billing@northwind.example"]
    assert alert.subject == f"Charge failed: invoice {invoice.number} (Customer 1), $100.00"
    assert "The card has insufficient funds." in alert.body
    assert "retried automatically on Mar 10, 2026" in alert.body

    run(DUE_NINE - datetime.timedelta(minutes=1), django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1  # not at night
    run(DUE_NINE, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 3  # the notice, and today's reminder saying a retry is planned
    [notice] = [m for m in mail.outbox if "didn't go through" in m.subject]
    assert notice.to == ["ap@acme.example"]
    assert notice.subject == f"Your payment for invoice {invoice.number} from Northwind IT didn't go through"
    assert "We'll try again on Mar 10, 2026" in notice.body
    [link] = re.findall(r"http://\S+/pay/[A-Za-z0-9_-]+/", notice.body)
    with time_machine.travel(DUE_NINE, tick=False):
        page = Client().get(link.removeprefix("http://127.0.0.1:8000"))
    assert page.status_code == 200
    assert invoice.number in page.content.decode()

    [due_today] = [m for m in mail.outbox if m.subject.endswith("is due today")]
    assert "charged automatically on Mar 10, 2026" in due_today.body

    run(DUE_NINE + datetime.timedelta(minutes=5), django_capture_on_commit_callbacks)  # nothing twice
    with scopes_disabled():
        sent = Notification.objects.filter(invoice=invoice, status=NotificationStatus.SENT)
        assert sorted(sent.values_list("kind", flat=True)) == [
            NotificationKind.BEFORE_DUE,
            NotificationKind.CHARGE_FAILED,
            NotificationKind.INVOICE,
            NotificationKind.ON_DUE,
            NotificationKind.PARTNER_CHARGE_FAILED,
        ]
    assert len(mail.outbox) == 3


def test_an_automatic_charge_at_midnight_gets_its_receipt_at_nine_once(
    partner, django_capture_on_commit_callbacks
):
    invoice = charged_on_due_date(partner, "4242424242424242", django_capture_on_commit_callbacks)
    assert mail.outbox == []
    run(DUE_NINE, django_capture_on_commit_callbacks)
    run(DUE_NINE + datetime.timedelta(hours=1), django_capture_on_commit_callbacks)
    assert [m.subject for m in mail.outbox] == [f"Receipt for invoice {invoice.number} from Northwind IT"]
    assert "Paid with: Visa •••• 4242" in mail.outbox[0].body
    with scopes_disabled():
        skipped = Notification.objects.filter(invoice=invoice, kind=NotificationKind.ON_DUE).get()
    assert skipped.skip_reason == "The invoice is paid"


def test_a_charge_a_person_starts_is_answered_at_once_even_at_night(
    partner, django_capture_on_commit_callbacks
):
    """Charge now at 01:00 where the partner is: its receipt goes now, not at nine; and a declined one's
    notice to the customer goes now too, saying it failed (no invoice email saying it is being charged)."""
    night = DUE_MIDNIGHT + datetime.timedelta(hours=1)
    good = customer_for(partner, email="ap@acme.example")
    card_for(good)
    bad = customer_for(partner, email="ap@beta.example")
    method = card_for(bad, DECLINED_CARD)
    with time_machine.travel(night, tick=False), django_capture_on_commit_callbacks(execute=True):
        paid = make_invoice(partner, customer=good, payment_option=PaymentOption.CHARGE_NOW)
        declined = make_invoice(
            partner,
            customer=bad,
            payment_option=PaymentOption.CHARGE_METHOD_ON_FILE,
            payment_method=method,
        )
    subjects = [(m.to, m.subject) for m in mail.outbox]
    assert (["ap@acme.example"], f"Receipt for invoice {paid.number} from Northwind IT") in subjects
    notice = [m for m in mail.outbox if m.to == ["ap@beta.example"]]
    assert [m.subject for m in notice] == [
        f"Your payment for invoice {declined.number} from Northwind IT didn't go through"
    ]
    assert "nothing you need to do" not in notice[0].body
    assert "The card has insufficient funds." in notice[0].body


def test_a_receipt_waiting_for_the_morning_shows_on_the_paid_invoices_page(
    partner, owner_client, django_capture_on_commit_callbacks
):
    invoice = charged_on_due_date(partner, "4242424242424242", django_capture_on_commit_callbacks)
    with time_machine.travel(DUE_MIDNIGHT, tick=False):
        body = owner_client.get(f"/invoices/{invoice.pk}/").content.decode()
    assert "Mar 7, 2026, 9:00 AM</time>: Receipt" in body
