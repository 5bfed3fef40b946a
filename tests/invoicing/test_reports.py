"""The dashboard's figures and the aging report add up exactly the invoices their links open.

Each figure is recomputed here from the invoices with the rule a partner reads on the page, then its
link is followed and the invoice list must show exactly those invoices. Seeded in three currencies, in
a time zone ahead of UTC and one behind it, at a moment when the partner's date differs from UTC's.
"""

import datetime
import re

import pytest
import time_machine
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from dashboard import reports
from dashboard.templatetags.reports import invoice_list_url
from invoicing.models import Invoice, InvoiceStatus
from invoicing.selectors import day_start
from invoicing.services import invoice_mark_uncollectible, invoice_stop_collection, invoice_void
from payments.models import PaymentMethodType
from payments.services import payment_record_offline
from tests.conftest import client_for, member_of
from tests.factories import PartnerFactory
from tests.factories.invoicing import customer_for, make_invoice

pytestmark = pytest.mark.django_db

# (time zone, a UTC moment when that zone's date is not UTC's date)
ZONES = [
    ("Pacific/Auckland", datetime.datetime(2026, 3, 10, 11, 30, tzinfo=datetime.UTC)),  # Mar 11, 00:30
    ("America/Los_Angeles", datetime.datetime(2026, 3, 11, 5, 30, tzinfo=datetime.UTC)),  # Mar 10, 22:30
]
# Days past due of open invoices: the edges of every bucket and of "due in the next 7 days".
AGES = [-8, -7, -6, -1, 0, 1, 30, 31, 60, 61, 90, 91, 200]
CURRENCIES = {"USD": 12_345, "EUR": 50_050, "JPY": 7_000}


def _set_due(invoice: Invoice, today: datetime.date, days_overdue: int) -> None:
    """Issued invoices can't be given a past due date; age them as time would."""
    Invoice.objects.filter(pk=invoice.pk).update(due_date=today - datetime.timedelta(days=days_overdue))


def _pay(invoice: Invoice, at: datetime.datetime) -> None:
    with time_machine.travel(at, tick=False), scope(partner=invoice.partner):
        payment_record_offline(
            invoice=invoice,
            amount=invoice.amount_due,
            method=PaymentMethodType.CHECK,
            received_on=invoice.partner.today(),
            actor=None,
        )


def seed(partner) -> None:
    """Open invoices of every age, paid ones either side of the 30-day edge, and the statuses that must
    not count (draft, void, uncollectible), in each currency."""
    today = partner.today()
    customers = [customer_for(partner, name=f"Client {n}") for n in range(3)]
    paid_edge = day_start(partner, today - datetime.timedelta(days=reports.PAID_RECENTLY_DAYS - 1))
    for currency, price in CURRENCIES.items():
        for n, age in enumerate(AGES):
            invoice = make_invoice(
                partner, customer=customers[n % 3], currency=currency, lines=[("Work", "1", price + n, "0")]
            )
            _set_due(invoice, today, age)
            if age in (31, -6):  # automatic charging stopped on these
                with scope(partner=partner):
                    invoice_stop_collection(invoice=invoice, reason="Card lost", write_off=False)
        for moment in (
            paid_edge,
            paid_edge - datetime.timedelta(minutes=1),
            paid_edge + datetime.timedelta(days=5),
        ):
            with time_machine.travel(moment - datetime.timedelta(days=40), tick=False):
                invoice = make_invoice(partner, customer=customers[0], currency=currency)
            _pay(invoice, moment)
        make_invoice(partner, customer=customers[1], currency=currency, finalize=False)  # a draft
        with scope(partner=partner):
            invoice_void(invoice=make_invoice(partner, customer=customers[1], currency=currency), actor=None)
            written_off = make_invoice(partner, customer=customers[2], currency=currency)
            _set_due(written_off, today, 45)
            invoice_mark_uncollectible(invoice=written_off, actor=None)


def expected(partner, currency: str) -> dict[str, set[int]]:
    """Each figure's invoices by the rule the page states, recomputed from the rows."""
    today = partner.today()
    since = day_start(partner, today - datetime.timedelta(days=reports.PAID_RECENTLY_DAYS - 1))
    with scopes_disabled():
        invoices = list(Invoice.objects.filter(partner=partner, currency=currency))
    open_ = [i for i in invoices if i.status == InvoiceStatus.OPEN]
    late = {i.pk: (today - i.due_date).days for i in open_}
    return {
        "outstanding": {i.pk for i in open_},
        "overdue": {i.pk for i in open_ if i.due_date < today},
        "due_soon": {i.pk for i in open_ if 0 <= (i.due_date - today).days <= 6},
        "paid": {i.pk for i in invoices if i.status == InvoiceStatus.PAID and i.paid_at >= since},
        "attention": {i.pk for i in open_ if i.collection_failed_at},
        "current": {pk for pk, days in late.items() if days <= 0},
        "d1_30": {pk for pk, days in late.items() if 1 <= days <= 30},
        "d31_60": {pk for pk, days in late.items() if 31 <= days <= 60},
        "d61_90": {pk for pk, days in late.items() if 61 <= days <= 90},
        "d90_plus": {pk for pk, days in late.items() if days > 90},
    }


def listed_ids(client, url: str) -> set[int]:
    response = client.get(url)
    assert response.status_code == 200, url
    return {int(pk) for pk in re.findall(r'<tr><td><a href="/invoices/(\d+)/">', response.content.decode())}


def amount_of(ids: set[int], field: str) -> int:
    with scopes_disabled():
        return sum(Invoice.objects.filter(pk__in=ids).values_list(field, flat=True))


@pytest.mark.parametrize(("zone", "now"), ZONES, ids=[zone for zone, _ in ZONES])
def test_every_figure_matches_the_invoices_its_link_shows(zone, now):
    with time_machine.travel(now, tick=False):
        partner = PartnerFactory(timezone=zone)
        assert partner.today() != now.date()  # the partner's day, not UTC's, decides
        with scopes_disabled():
            seed(partner)
        client = client_for(member_of(partner).user)
        with scope(partner=partner):
            summaries = {summary.currency: summary for summary in reports.dashboard_summary(partner=partner)}
        assert set(summaries) == set(CURRENCIES)
        checked = 0
        for currency, summary in summaries.items():
            want = expected(partner, currency)
            figures = [*summary.figures.items(), *((key, figure) for key, _, figure in summary.aging)]
            for key, figure in figures:
                shown = listed_ids(client, invoice_list_url(figure.filters))
                assert shown == want[key], f"{currency} {key}"
                assert figure.count == len(shown), f"{currency} {key}"
                field = "total" if key == "paid" else "amount_due"
                assert figure.amount == amount_of(shown, field), f"{currency} {key}"
                checked += 1
            assert len(want["paid"]) == 2  # the one paid a minute before the 30 days is out
            assert len(want["due_soon"]) == 3
            assert len(want["attention"]) == 2
        assert checked == 30


def test_the_dashboard_shows_each_figure_with_its_link(owner_client, partner, unscoped):
    invoice = make_invoice(partner, currency="EUR", lines=[("Audit", "1", 123_456, "0")])
    _set_due(invoice, partner.today(), 3)
    body = owner_client.get(reverse("dashboard")).content.decode()
    overdue_url = invoice_list_url(reports.figure_filters(partner, "EUR")["overdue"]).replace("&", "&amp;")
    assert f'<a href="{overdue_url}"><span class="figure-label">Overdue</span>' in body
    assert "€1,234.56" in body
    assert "1 invoice past due" in body


def test_aging_by_customer_cells_link_to_exactly_their_invoices(owner_client, partner, unscoped):
    today = partner.today()
    first, second = customer_for(partner, name="Ada"), customer_for(partner, name="Grace")
    ages = {first: [0, 5, 45], second: [5, 95, 95, 120]}
    for customer, days in ages.items():
        for age in days:
            _set_due(make_invoice(partner, customer=customer), today, age)
    make_invoice(partner, customer=first, currency="EUR")  # another currency: not in the USD table
    with scope(partner=partner):
        rows, cut = reports.aging_by_customer(partner=partner, currency="USD")
    assert not cut
    assert [row.name for row in rows] == ["Grace", "Ada"]  # largest balance first
    for row in rows:
        for figure in [*row.buckets, row.total]:
            shown = listed_ids(owner_client, invoice_list_url(figure.filters))
            assert len(shown) == figure.count
            assert amount_of(shown, "amount_due") == figure.amount
            with scopes_disabled():
                assert set(Invoice.objects.filter(pk__in=shown).values_list("customer_id", flat=True)) <= {
                    row.customer_id
                }
    assert [figure.count for figure in rows[0].buckets] == [0, 1, 0, 0, 3]
    page = owner_client.get(reverse("aging_by_customer"), {"currency": "USD"}).content.decode()
    assert "<strong>$400.00</strong>" in page
    assert owner_client.get(reverse("aging_by_customer"), {"currency": "nope"}).status_code == 200


def test_reports_draw_aging_and_cash_charts_as_svg_with_values_and_tables(owner_client, partner, unscoped):
    today = partner.today()
    invoice = make_invoice(partner, lines=[("Work", "1", 250_000, "0")])
    _set_due(invoice, today, 40)
    for days_ago, amount in ((0, 10_000), (8, 25_000), (8, 5_000)):
        paid = make_invoice(partner, lines=[("Work", "1", amount, "0")])
        with scope(partner=partner):
            payment_record_offline(
                invoice=paid,
                amount=amount,
                method=PaymentMethodType.CASH,
                received_on=today - datetime.timedelta(days=days_ago),
                actor=None,
            )
    with scope(partner=partner):
        weeks = reports.cash_by_week(partner=partner)["USD"]
    assert len(weeks) == reports.CASH_WEEKS
    assert weeks[-1].start <= today < weeks[-1].start + datetime.timedelta(days=7)
    assert weeks[-1].amount == 10_000
    assert sum(week.amount for week in weeks) == 40_000
    assert sum(week.count for week in weeks) == 3
    body = owner_client.get(reverse("reports")).content.decode()
    assert body.count("<svg") == 2
    assert "31–60 days" in body  # noqa: RUF001
    assert "$2,500.00 · 1 invoice" in body  # the value is written beside the bar
    assert ">$100</text>" in body  # each column is labelled with its value
    assert ">$300</text>" in body
    assert not re.search(r"\sstyle=", body)
    aging_link = re.search(r'<a href="(/invoices/\?tab=open[^"]*)">\$2,500.00</a>', body).group(1)
    assert listed_ids(owner_client, aging_link.replace("&amp;", "&")) == {invoice.pk}


def test_another_partners_invoices_never_count(owner_client, partner, other_partner, unscoped):
    make_invoice(other_partner, lines=[("Theirs", "1", 99_999, "0")])
    mine = make_invoice(partner, lines=[("Mine", "1", 1_000, "0")])
    with scope(partner=partner):
        (summary,) = reports.dashboard_summary(partner=partner)
    assert summary.figures["outstanding"].amount == mine.amount_due
    assert "$999.99" not in owner_client.get(reverse("dashboard")).content.decode()


def test_bounced_emails_link_to_the_invoices_they_were_about(owner_client, partner, other_partner, unscoped):
    from reminders.models import EmailStatus, NotificationKind, OutboundEmail

    bounced, complained, delivered = (make_invoice(partner) for _ in range(3))
    theirs = make_invoice(other_partner)
    for invoice, status in (
        (bounced, EmailStatus.BOUNCED),
        (bounced, EmailStatus.BOUNCED),  # sent twice, bounced twice: one invoice
        (complained, EmailStatus.COMPLAINED),
        (delivered, EmailStatus.DELIVERED),
        (theirs, EmailStatus.BOUNCED),
    ):
        OutboundEmail.objects.create(
            partner=invoice.partner,
            invoice=invoice,
            kind=NotificationKind.INVOICE,
            to=["x@example.com"],
            status=status,
        )
    with scope(partner=partner):
        found = reports.bounces(partner=partner)
    assert found.emails == 3
    assert found.invoices.count == 2
    assert listed_ids(owner_client, invoice_list_url(found.invoices.filters)) == {bounced.pk, complained.pk}
    body = owner_client.get(reverse("dashboard")).content.decode()
    assert "<strong>3</strong> emails bounced or were marked as spam" in body
    assert 'href="/invoices/?bounced=1">2 invoices</a>' in body


@pytest.mark.parametrize("name", ["reports", "aging_by_customer", "activity_log", "dashboard"])
def test_report_pages_have_no_inline_code_and_every_input_a_label(owner_client, partner, name, unscoped):
    from tests.test_pages import assert_clean_html

    _set_due(make_invoice(partner), partner.today(), 12)
    body = owner_client.get(reverse(name)).content.decode()
    assert_clean_html(body, name)
    for input_id in re.findall(r'<(?:input|select)\b(?![^>]*type="hidden")[^>]*\bid="([^"]+)"', body):
        assert f'for="{input_id}"' in body, f"{name}: #{input_id} has no label"
