"""The recurring payment pages: add (with the preview of the next six dates), the list, a schedule's
page with the invoices it issued, edit, pause, resume and cancel, and bad input kept with its messages."""

import datetime
import re

import pytest
import time_machine
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from invoicing.jobs import recurring_issue_due
from invoicing.models import RecurringSchedule, RecurringStatus
from partners.models import Role
from payments.services import customer_set_autopay
from tests.conftest import client_for, member_of
from tests.factories.invoicing import customer_for
from tests.factories.payments import card_for
from tests.factories.recurring import make_schedule

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 1, 20, 15, tzinfo=datetime.UTC)  # Jan 20, 10:00 in New York


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def form_data(**overrides) -> dict:
    data = {
        "customer": "",
        "customer_query": "",
        "currency": "USD",
        "amount": "",
        "memo": "",
        "payment_option": "charge_later",
        "frequency": "monthly",
        "interval": "",
        "anchor_day": "",
        "start_date": "2026-01-31",
        "end_mode": "never",
        "end_count": "",
        "end_date": "",
        "days_until_due": "14",
        "action": "save",
        "line-TOTAL_FORMS": "0",  # the lines editor's formset, with no rows
        "line-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return data


def the_schedule(partner) -> RecurringSchedule:
    with scope(partner=partner):
        return RecurringSchedule.objects.select_related("customer").get()


def test_add_a_monthly_recurring_payment_on_the_31st_and_see_its_next_dates(owner_client, partner):
    customer = customer_for(partner, name="Ada", company="Analytical Ltd")
    response = owner_client.post(
        reverse("recurring_create"), form_data(customer=customer.pk, amount="99.00", memo="Backup plan")
    )
    assert response.status_code == 302
    schedule = the_schedule(partner)
    assert (schedule.anchor_day, schedule.next_period_date, schedule.days_until_due) == (
        31,
        datetime.date(2026, 1, 31),
        14,
    )
    page = owner_client.get(response.url).content.decode()
    assert "Recurring payment for Analytical Ltd" in page
    for day in ("Sat, Jan 31, 2026", "Sat, Feb 28, 2026", "Tue, Mar 31, 2026", "Thu, Apr 30, 2026"):
        assert day in page
    assert "Monthly on the last day of the month" in page
    assert "$99.00" in page
    listing = owner_client.get(reverse("recurring_list")).content.decode()
    assert "Analytical Ltd" in listing
    assert "$99.00" in listing
    assert "Jan 31, 2026" in listing


def test_the_preview_follows_the_timing_fields(owner_client, partner):
    params = form_data(
        frequency="every_n_weeks", interval="2", start_date="2026-02-02", end_mode="after_count"
    )
    params["end_count"] = "3"
    page = owner_client.get(reverse("recurring_preview"), params).content.decode()
    assert page.count("<li>") == 3
    assert "Mon, Feb 2, 2026" in page
    assert "Mon, Feb 16, 2026" in page
    assert "Mon, Mar 2, 2026" in page
    assert "Then it ends." in page
    yearly = owner_client.get(
        reverse("recurring_preview"), form_data(frequency="yearly", start_date="2028-02-29")
    ).content.decode()
    assert "Feb 29, 2028" in yearly
    assert "Feb 28, 2029" in yearly
    assert "Feb 29, 2032" in yearly


def test_bad_input_shows_messages_next_to_the_fields_and_keeps_what_was_typed(owner_client, partner):
    customer = customer_for(partner)
    response = owner_client.post(
        reverse("recurring_create"),
        form_data(
            customer=customer.pk,
            amount="12,5x",
            frequency="every_n_months",
            start_date="2026-01-19",
            end_mode="after_count",
            memo="Keep me",
        ),
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Enter the number of months between invoices." in page
    assert "Enter how many invoices to issue." in page
    assert "Keep me" in page
    assert "12,5x" in page
    with scope(partner=partner):
        assert not RecurringSchedule.objects.exists()

    response = owner_client.post(
        reverse("recurring_create"), form_data(customer=customer.pk, amount="10", start_date="2026-01-19")
    )
    assert "Choose Jan 20, 2026 or later." in response.content.decode()  # yesterday, in New York
    response = owner_client.post(reverse("recurring_create"), form_data(amount="10"))
    assert "Choose a customer, or add a new one." in response.content.decode()


def test_a_first_date_years_away_is_refused_and_the_preview_stops_at_the_year_9999(owner_client, partner):
    customer = customer_for(partner)
    for start in ("9999-12-15", "2036-01-21"):
        response = owner_client.post(
            reverse("recurring_create"), form_data(customer=customer.pk, amount="10", start_date=start)
        )
        assert response.status_code == 200
        assert "Choose Jan 20, 2036 or earlier." in response.content.decode()  # ten years from today
        assert f'value="{start}"' in response.content.decode()
    with scope(partner=partner):
        assert not RecurringSchedule.objects.exists()
    for frequency in ("monthly", "weekly"):
        preview = owner_client.get(
            reverse("recurring_preview"), form_data(frequency=frequency, start_date="9999-12-15")
        )
        assert preview.status_code == 200
        assert preview.content.decode().count("<li>") == (1 if frequency == "monthly" else 3)


def test_auto_pay_customers_default_to_charge_on_due_date(owner_client, partner):
    customer = customer_for(partner)
    card_for(customer)
    with scope(partner=partner):
        customer_set_autopay(customer=customer, enabled=True)
    page = owner_client.get(reverse("recurring_create"), {"customer": customer.pk}).content.decode()
    assert re.search(r'value="charge_on_due_date"[^>]*checked', page)
    assert not re.search(r'value="charge_later"[^>]*checked', page)


def test_edit_pause_resume_and_cancel(owner_client, partner):
    schedule = make_schedule(partner, start_date=datetime.date(2026, 2, 1), amount=5_000)
    edit = owner_client.get(reverse("recurring_edit", args=[schedule.pk])).content.decode()
    assert 'value="2026-02-01"' in edit
    assert "Managed services" in edit
    response = owner_client.post(
        reverse("recurring_edit", args=[schedule.pk]),
        form_data(customer=schedule.customer_id, amount="75", start_date="2026-02-01", anchor_day="1"),
    )
    assert response.status_code == 302
    with scope(partner=partner):
        schedule.refresh_from_db()
        assert schedule.lines.get().unit_price == 7_500
    assert schedule.next_period_date == datetime.date(2026, 2, 1)

    owner_client.post(reverse("recurring_pause", args=[schedule.pk]))
    page = owner_client.get(reverse("recurring_detail", args=[schedule.pk])).content.decode()
    assert "Resume" in page
    assert "Paused" in page
    owner_client.post(reverse("recurring_resume", args=[schedule.pk]))
    owner_client.post(reverse("recurring_cancel", args=[schedule.pk]))
    schedule.refresh_from_db()
    assert schedule.status == RecurringStatus.CANCELLED
    response = owner_client.post(reverse("recurring_pause", args=[schedule.pk]), follow=True)
    assert "Only an active recurring payment can be paused." in response.content.decode()
    assert owner_client.get(reverse("recurring_edit", args=[schedule.pk])).status_code == 302


def test_the_schedule_page_lists_issued_invoices_and_warns_without_a_saved_method(owner_client, partner):
    schedule = make_schedule(
        partner, start_date=datetime.date(2026, 1, 20), payment_option="charge_now", amount=4_200
    )
    page = owner_client.get(reverse("recurring_detail", args=[schedule.pk])).content.decode()
    assert "has no saved payment method, so Charge now can&#x27;t charge" in page
    recurring_issue_due()
    page = owner_client.get(reverse("recurring_detail", args=[schedule.pk])).content.decode()
    assert "INV-0001" in page
    assert "Open" in page
    assert "$42.00" in page
    attention = owner_client.get(reverse("invoice_list"), {"tab": "attention"}).content.decode()
    assert "INV-0001" in attention


def test_a_schedule_paused_by_the_job_says_why(owner_client, partner):
    schedule = make_schedule(partner, start_date=datetime.date(2026, 1, 20))
    with scopes_disabled():
        schedule.customer.archived_at = NOW
        schedule.customer.save(update_fields=["archived_at"])
    recurring_issue_due()
    page = owner_client.get(reverse("recurring_detail", args=[schedule.pk])).content.decode()
    assert "Needs attention" in page
    assert "The invoice for Jan 20, 2026 was not issued" in page


def test_the_needs_attention_tab_lists_schedules_the_job_paused(owner_client, partner):
    blocked = make_schedule(partner, start_date=datetime.date(2026, 1, 20))
    fine = make_schedule(partner, start_date=datetime.date(2026, 1, 25))
    with scopes_disabled():
        blocked.customer.archived_at = NOW
        blocked.customer.save(update_fields=["archived_at"])
    recurring_issue_due()
    page = owner_client.get(reverse("recurring_list"), {"tab": "attention"}).content.decode()
    assert reverse("recurring_detail", args=[blocked.pk]) in page
    assert reverse("recurring_detail", args=[fine.pk]) not in page


def test_read_only_members_see_the_schedule_without_its_buttons(partner):
    schedule = make_schedule(partner, start_date=datetime.date(2026, 2, 1))
    reader = client_for(member_of(partner, Role.READ_ONLY).user)
    page = reader.get(reverse("recurring_detail", args=[schedule.pk])).content.decode()
    assert "Next invoices" in page
    assert "Pause" not in page
    assert reverse("recurring_edit", args=[schedule.pk]) not in page
    assert "Add recurring payment" not in reader.get(reverse("recurring_list")).content.decode()
    assert reader.post(reverse("recurring_pause", args=[schedule.pk])).status_code == 403


def test_the_catch_up_window_is_a_setting(owner_client, partner):
    data = {
        "payment_terms_days": "30",
        "invoice_number_prefix": "INV-",
        "invoice_number_padding": "4",
        "credit_note_prefix": "CN-",
        "next_number": "1",
        "recurring_catch_up_days": "7",
    }
    assert owner_client.post(reverse("settings_invoicing"), data).status_code == 302
    partner.refresh_from_db()
    assert partner.recurring_catch_up_days == 7
    response = owner_client.post(reverse("settings_invoicing"), {**data, "recurring_catch_up_days": "400"})
    assert "less than or equal to 365" in response.content.decode()
    partner.refresh_from_db()
    assert partner.recurring_catch_up_days == 7
