"""Pay links: 256-bit tokens stored only as a hash, expiry after the due date, reissue (old links die),
the partner's "Reissue pay link" button and setting, and what the PDF prints instead of a token."""

import base64
import datetime
import hashlib
import re

import pytest
import time_machine
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from invoicing.models import EventKind
from invoicing.pdf import invoice_pay_url
from payments.models import PayLink
from payments.portal.selectors import LinkState, pay_link_resolve
from payments.portal.services import pay_link_issue, pay_link_reissue
from payments.services import payment_record_offline
from tests.factories.invoicing import make_invoice

pytestmark = pytest.mark.django_db


def token_of(url: str) -> str:
    match = re.fullmatch(r"https?://[^/]+/pay/([A-Za-z0-9_-]+)/", url)
    assert match, url
    return match.group(1)


def rows_containing(text: str) -> list[str]:
    """Every table in the database whose rows, cast to text, contain `text` (sessions and PDFs too)."""
    found = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        for (table,) in cursor.fetchall():
            cursor.execute(f'SELECT count(*) FROM "{table}" t WHERE t::text LIKE %s', [f"%{text}%"])
            if cursor.fetchone()[0]:
                found.append(table)
    return found


def test_finalizing_issues_a_256_bit_link_and_only_its_hash_reaches_the_database(partner, owner_client):
    invoice = make_invoice(partner)
    token = token_of(invoice.fresh_pay_url)

    assert len(base64.urlsafe_b64decode(token + "=")) == 32  # 256 bits from secrets.token_urlsafe(32)
    with scopes_disabled():
        link = PayLink.objects.get(invoice=invoice)
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    # The partner sees a reissued link once (messages cookie); the PDF is stored; neither holds a token.
    response = owner_client.post(reverse("invoice_pay_link_reissue", args=[invoice.pk]), follow=True)
    new_token = re.search(r"/pay/([A-Za-z0-9_-]{43})/", response.content.decode()).group(1)
    owner_client.get(reverse("invoice_pdf", args=[invoice.pk]))
    assert rows_containing(link.token_hash) == ["payments_paylink"]  # the check itself can find things
    assert rows_containing(token) == []
    assert rows_containing(new_token) == []


def test_tokens_differ_every_time(partner):
    invoice = make_invoice(partner)
    with scope(partner=partner):
        tokens = {token_of(pay_link_issue(invoice=invoice)) for _ in range(20)}
    assert len(tokens) == 20


def test_a_link_works_until_the_end_of_the_partners_day_30_days_after_the_due_date(partner):
    partner.timezone = "Pacific/Auckland"
    partner.save()
    invoice = make_invoice(partner, due_in_days=10)
    token = token_of(invoice.fresh_pay_url)
    with scopes_disabled():
        expires_at = PayLink.objects.get(invoice=invoice).expires_at
    last_day = invoice.due_date + datetime.timedelta(days=30)
    assert expires_at.astimezone(partner.zone).date() == last_day + datetime.timedelta(days=1)
    assert expires_at.astimezone(partner.zone).time() == datetime.time(0)

    with time_machine.travel(expires_at - datetime.timedelta(seconds=1), tick=False):
        assert pay_link_resolve(token=token).state == LinkState.VALID
    with time_machine.travel(expires_at, tick=False):
        assert pay_link_resolve(token=token).state == LinkState.EXPIRED


def test_the_partner_chooses_how_long_links_work(partner, owner_client):
    response = owner_client.get(reverse("settings_invoicing"))
    assert 'name="pay_link_valid_days"' in response.content.decode()
    form = response.context["form"]
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(charge_retry_days="3, 7, 14", pay_link_valid_days="7", default_memo="", default_footer="")
    data.pop("mark_uncollectible_after_retries", None)
    data.pop("invoice_number_yearly_reset", None)
    assert owner_client.post(reverse("settings_invoicing"), data).status_code == 302
    partner.refresh_from_db()
    assert partner.pay_link_valid_days == 7

    invoice = make_invoice(partner, due_in_days=5)
    with scopes_disabled():
        expires_at = PayLink.objects.get(invoice=invoice).expires_at
    assert expires_at.astimezone(partner.zone).date() == invoice.due_date + datetime.timedelta(days=8)

    data["pay_link_valid_days"] = "0"
    response = owner_client.post(reverse("settings_invoicing"), data)
    assert response.status_code == 200
    assert "greater than or equal to 1" in response.content.decode()


def test_a_link_issued_long_after_the_due_date_still_works_for_the_full_period(partner):
    invoice = make_invoice(partner, due_in_days=0)
    later = timezone.now() + datetime.timedelta(days=60)
    with time_machine.travel(later, tick=False), scope(partner=partner):
        token = token_of(pay_link_reissue(invoice=invoice, actor=None))
        assert pay_link_resolve(token=token).state == LinkState.VALID
    with time_machine.travel(later + datetime.timedelta(days=29), tick=False):
        assert pay_link_resolve(token=token).state == LinkState.VALID


def test_reissuing_kills_every_earlier_link_and_says_so_on_the_timeline(partner, owner):
    invoice = make_invoice(partner)
    first = token_of(invoice.fresh_pay_url)
    with scope(partner=partner):
        emailed = token_of(pay_link_issue(invoice=invoice))
        assert pay_link_resolve(token=emailed).state == LinkState.VALID  # several links may live at once
        new = token_of(pay_link_reissue(invoice=invoice, actor=owner))
        event = invoice.events.filter(kind=EventKind.PAY_LINK_REISSUED).get()
    assert pay_link_resolve(token=first).state == LinkState.REVOKED
    assert pay_link_resolve(token=emailed).state == LinkState.REVOKED
    assert pay_link_resolve(token=new).state == LinkState.VALID
    assert event.actor == owner
    assert event.message == "New pay link issued; 2 earlier links no longer work"


def test_unknown_and_malformed_tokens_resolve_to_nothing(partner):
    make_invoice(partner)
    for token in ["", "x", "A" * 43, "../../etc", "ä" * 50, "A" * 5000]:
        assert pay_link_resolve(token=token).state == LinkState.UNKNOWN


def test_the_reissue_button_shows_the_new_link_once_to_writers_only(partner, owner_client):
    invoice = make_invoice(partner)
    page = owner_client.get(reverse("invoice_detail", args=[invoice.pk])).content.decode()
    assert "Reissue pay link" in page

    response = owner_client.post(reverse("invoice_pay_link_reissue", args=[invoice.pk]), follow=True)
    body = response.content.decode()
    new = re.search(r"/pay/([A-Za-z0-9_-]{43})/", body).group(1)
    assert "earlier links no longer work" in body
    assert pay_link_resolve(token=new).state == LinkState.VALID
    assert pay_link_resolve(token=token_of(invoice.fresh_pay_url)).state == LinkState.REVOKED
    again = owner_client.get(reverse("invoice_detail", args=[invoice.pk])).content.decode()
    assert new not in again  # shown once


def test_drafts_have_no_pay_link_and_no_button(partner, owner_client):
    draft = make_invoice(partner, finalize=False)
    assert (
        "Reissue pay link"
        not in owner_client.get(reverse("invoice_detail", args=[draft.pk])).content.decode()
    )
    response = owner_client.post(reverse("invoice_pay_link_reissue", args=[draft.pk]), follow=True)
    assert "A draft has no pay link" in response.content.decode()
    with scopes_disabled():
        assert not PayLink.objects.filter(invoice=draft).exists()


def test_the_pdf_prints_the_portal_address_and_number_only_while_something_is_due(partner, settings):
    invoice = make_invoice(partner)
    assert invoice_pay_url(invoice) == f"{settings.SITE_URL}/pay/?invoice={invoice.number}"
    assert invoice_pay_url(make_invoice(partner, finalize=False)) is None
    with scope(partner=partner):
        payment_record_offline(
            invoice=invoice, amount=invoice.total, method="check", received_on=partner.today(), actor=None
        )
    invoice.refresh_from_db()
    assert invoice_pay_url(invoice) is None
