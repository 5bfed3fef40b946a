"""The partner's pages: Upcoming, Settings → Notifications, the email previews, resuming a paused address."""

import datetime

import pytest
import time_machine
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from invoicing.models import PaymentOption
from reminders.models import NotificationKind, NotificationSettings, SuppressedAddress
from tests.factories.invoicing import customer_for, make_invoice
from tests.factories.payments import card_for
from tests.test_pages import assert_clean_html

UTC = datetime.UTC
NOW = datetime.datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # Mar 2, 10:00 in New York

pytestmark = pytest.mark.django_db


@pytest.fixture
def partner(partner):
    partner.timezone = "America/New_York"
    partner.save(update_fields=["timezone"])
    return partner


@time_machine.travel(NOW, tick=False)
def test_upcoming_lists_reminders_and_charges_of_the_next_14_days(owner_client, partner, other_partner):
    soon = make_invoice(partner, due_in_days=10)
    later = make_invoice(partner, due_in_days=40)
    customer = customer_for(partner, email="auto@acme.example")
    card_for(customer)
    charged = make_invoice(
        partner, customer=customer, due_in_days=5, payment_option=PaymentOption.CHARGE_ON_DUE_DATE
    )
    make_invoice(other_partner, customer=customer_for(other_partner, name="Globex Buyer"), due_in_days=10)

    response = owner_client.get(reverse("upcoming"))
    body = response.content.decode()
    assert response.status_code == 200
    assert_clean_html(body, "upcoming")
    # 7 days before, the day before, due today, and 3 days overdue (Mar 15) are within 14 days
    assert body.count(f">{soon.number}</a>") == 4
    assert "Reminder, 7 days before the due date" in body
    assert "Due today" in body
    assert "Charge on due date" in body  # Mar 7, midnight in New York
    assert f">{charged.number}</a>" in body
    assert f">{later.number}</a>" not in body  # its first reminder is 33 days away
    assert "Globex Buyer" not in body  # another partner's reminders never show
    assert soon.customer.display_name in body


@time_machine.travel(NOW, tick=False)
def test_the_invoice_page_shows_its_own_upcoming_reminders_and_preview_link(owner_client, partner):
    invoice = make_invoice(partner, due_in_days=10)
    body = owner_client.get(reverse("invoice_detail", args=[invoice.pk])).content.decode()
    assert "Mar 5, 2026, 9:00 AM</time>: Reminder, 7 days before the due date" in body
    assert "Mar 12, 2026, 9:00 AM</time>: Due today" in body
    assert f"kind=invoice&amp;invoice={invoice.pk}" in body
    assert_clean_html(body, "invoice_detail")


@time_machine.travel(NOW, tick=False)
def test_the_invoice_page_shows_its_own_upcoming_charge(owner_client, partner):
    customer = customer_for(partner, email="auto@acme.example")
    card_for(customer)
    charged = make_invoice(
        partner, customer=customer, due_in_days=5, payment_option=PaymentOption.CHARGE_ON_DUE_DATE
    )
    body = owner_client.get(reverse("invoice_detail", args=[charged.pk])).content.decode()
    assert "Mar 7, 2026, 12:00 AM</time>: Charge on due date" in body  # midnight in New York


def test_settings_page_saves_and_replans(owner_client, partner, django_capture_on_commit_callbacks):
    invoice = make_invoice(partner, due_in_days=30)
    url = reverse("settings_notifications")
    page = owner_client.get(url)
    assert page.status_code == 200
    assert_clean_html(page.content.decode(), "settings_notifications")

    data = {
        "email_on_creation": "on",
        "attach_pdf": "on",
        "days_before_due": "3",
        "remind_on_due_date": "",
        "days_after_due": "10, 5",
        "send_hour": "8",
        "catch_up_days": "1",
        "send_receipts": "on",
        "notify_customer_failed_charge": "on",
        "alert_email": "alerts@northwind.example",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(url, data)
    assert response.status_code == 302
    with scope(partner=partner):
        prefs = NotificationSettings.objects.get(partner=partner)
        assert prefs.days_after_due == [5, 10]
        assert prefs.send_hour == 8
        planned = sorted(invoice.notifications.filter(status="scheduled").values_list("kind", "offset_days"))
    assert planned == [("before_due", -3), ("overdue", 5), ("overdue", 10)]


def test_settings_errors_show_next_to_the_field_and_keep_the_input(owner_client, partner):
    response = owner_client.post(
        reverse("settings_notifications"),
        {"days_before_due": "7, soon", "send_hour": "9", "catch_up_days": "2"},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Enter whole numbers of days separated by commas, like 3, 7, 14." in body
    assert 'value="7, soon"' in body


@pytest.mark.parametrize("kind", [k for k in NotificationKind.values if k != NotificationKind.OTHER])
def test_every_email_has_a_branded_preview(owner_client, partner, kind):
    partner.brand_colour = "#0b6e4f"
    partner.save(update_fields=["brand_colour"])
    page = owner_client.get(reverse("email_preview"), {"kind": kind, "days": "3"})
    assert page.status_code == 200
    assert_clean_html(page.content.decode(), f"preview {kind}")
    framed = owner_client.get(reverse("email_preview_html"), {"kind": kind, "days": "3"})
    assert framed.status_code == 200
    assert "sandbox" in framed["Content-Security-Policy"]
    if not kind.startswith("partner_"):  # alerts to the partner themselves are plain
        assert "#0b6e4f" in framed.content.decode()


def test_a_preview_draws_a_real_invoice_of_this_partner_only(owner_client, partner, other_partner):
    mine = make_invoice(partner, memo="PO 7731")
    theirs = make_invoice(other_partner)
    framed = owner_client.get(
        reverse("email_preview_html"), {"kind": "overdue", "days": "14", "invoice": mine.pk}
    )
    assert "PO 7731" in framed.content.decode()
    assert "Final reminder" in framed.content.decode()
    assert owner_client.get(reverse("email_preview"), {"invoice": theirs.pk}).status_code == 404
    assert owner_client.get(reverse("email_preview"), {"kind": "nonsense"}).status_code == 404


@pytest.mark.parametrize("value", ["²", "9" * 30, "9" * 5000, "-3", "abc"])
def test_a_hand_edited_preview_link_is_drawn_or_not_found_never_an_error(owner_client, partner, value):
    """Days that are not a number draw the reminder as if 0; an invoice id that is not one of ours is 404."""
    make_invoice(partner, due_in_days=10)
    for view in ("email_preview", "email_preview_html"):
        assert owner_client.get(reverse(view), {"kind": "overdue", "days": value}).status_code == 200
        drawn = owner_client.get(reverse(view), {"kind": "overdue", "invoice": value})
        assert drawn.status_code in (200, 404)


def test_resuming_a_paused_address(owner_client, partner):
    with scope(partner=partner):
        paused = SuppressedAddress.objects.create(
            partner=partner, address="gone@acme.example", reason="Bounced"
        )
    assert "gone@acme.example" in owner_client.get(reverse("settings_notifications")).content.decode()
    response = owner_client.post(reverse("suppressed_resume", args=[paused.pk]))
    assert response.status_code == 302
    with scopes_disabled():
        assert not SuppressedAddress.objects.exists()


def test_send_refuses_a_draft_with_a_message(owner_client, partner):
    draft = make_invoice(partner, finalize=False)
    response = owner_client.post(reverse("invoice_send", args=[draft.pk]), follow=True)
    assert "A draft invoice can&#x27;t be sent." in response.content.decode()
