"""CSV exports: the rows of the current filters, streamed in pieces, defused against formula injection,
in the partner's time zone, and never another partner's."""

import csv
import datetime
import io

import pytest
import time_machine
from django.urls import reverse
from django_scopes import scope

from dashboard import export
from invoicing.services import invoice_void
from payments.models import PaymentMethodType
from payments.services import payment_record_offline
from tests.factories.invoicing import customer_for, make_invoice

pytestmark = pytest.mark.django_db


def download(client, name: str, **params) -> tuple[list[dict], object]:
    response = client.get(reverse(name), params)
    assert response.status_code == 200
    assert response.streaming
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text))), response


def test_invoices_export_follows_the_list_filters(owner_client, partner, unscoped):
    customer = customer_for(partner, name="Ada", company="Analytical Engines")
    euros = make_invoice(partner, customer=customer, currency="EUR", lines=[("Work", "1", 123_456, "0")])
    make_invoice(partner, customer=customer, currency="USD")
    with scope(partner=partner):
        invoice_void(invoice=make_invoice(partner, currency="EUR"), actor=None)
    rows, response = download(owner_client, "export_invoices", tab="open", currency="EUR")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="invoices-')
    assert [row["Number"] for row in rows] == [euros.number]
    (row,) = rows
    assert (row["Status"], row["Customer"], row["Company"], row["Currency"]) == (
        "Open",
        "Ada",
        "Analytical Engines",
        "EUR",
    )
    assert (row["Total"], row["Amount due"], row["Paid"]) == ("1234.56", "1234.56", "0.00")
    assert row["Created at"].endswith(("-05:00", "-04:00"))  # New York, not UTC
    everything, _ = download(owner_client, "export_invoices")
    assert len(everything) == 3


def test_payments_export_has_the_payments_of_the_filtered_invoices(owner_client, partner, unscoped):
    paid_eur = make_invoice(partner, currency="EUR")
    paid_usd = make_invoice(partner, currency="USD")
    with (
        time_machine.travel(datetime.datetime(2026, 5, 1, 3, 0, tzinfo=datetime.UTC)),
        scope(partner=partner),
    ):
        for invoice, reference in ((paid_eur, "=cmd|' /C calc'!A0"), (paid_usd, "Check 12")):
            payment_record_offline(
                invoice=invoice,
                amount=4_000,
                method=PaymentMethodType.CHECK,
                received_on=partner.today(),
                reference=reference,
                actor=None,
            )
    rows, _ = download(owner_client, "export_payments", currency="EUR")
    assert [(row["Invoice"], row["Amount"], row["Method"]) for row in rows] == [
        (paid_eur.number, "40.00", "Check")
    ]
    assert rows[0]["Reference"] == "'=cmd|' /C calc'!A0"  # a formula is defused
    assert rows[0]["Received on"] == "2026-04-30"  # the partner's day (New York)
    assert rows[0]["Recorded at"] == "2026-04-30T23:00:00-04:00"
    assert len(download(owner_client, "export_payments")[0]) == 2
    # A "paid to" with no next day is read like any other (these invoices are not paid in full).
    assert download(owner_client, "export_payments", paid_to="9999-12-31")[0] == []


@pytest.mark.parametrize("name", ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tTab", "\rCR"])
def test_cells_a_spreadsheet_would_run_get_a_leading_apostrophe(owner_client, partner, name, unscoped):
    make_invoice(partner, customer=customer_for(partner, name=name, company=name))
    (row,), _ = download(owner_client, "export_invoices")
    assert row["Customer"] == "'" + name
    assert row["Company"] == "'" + name
    (customer,), _ = download(owner_client, "export_customers")
    assert customer["Name"] == "'" + name
    assert export.safe_text("Ada = Lovelace") == "Ada = Lovelace"  # only a leading sign matters


def test_customers_export_follows_the_search_and_archive_filters(owner_client, partner, unscoped):
    customer_for(partner, name="Ada Lovelace", cc_emails=["books@example.com", "cfo@example.com"])
    customer_for(partner, name="Grace Hopper")
    archived = customer_for(partner, name="Ada Archived")
    archived.archived_at = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    archived.save()
    rows, _ = download(owner_client, "export_customers", q="ada")
    assert [row["Name"] for row in rows] == ["Ada Lovelace"]
    assert rows[0]["CC emails"] == "books@example.com, cfo@example.com"
    rows, _ = download(owner_client, "export_customers", q="ada", archived="1")
    assert {row["Name"] for row in rows} == {"Ada Lovelace", "Ada Archived"}
    # NUL, which PostgreSQL text cannot hold, is refused on every page (config.middleware.RefuseNulMiddleware)
    assert owner_client.get(reverse("export_customers"), {"q": "ada\x00love"}).status_code == 400
    assert owner_client.get(reverse("customer_list"), {"q": "ada\x00"}).status_code == 400


def test_exports_stream_in_pieces(owner_client, partner, monkeypatch, unscoped):
    monkeypatch.setattr(export, "FLUSH_ROWS", 2)
    for _ in range(5):
        make_invoice(partner)
    response = owner_client.get(reverse("export_invoices"))
    pieces = [piece for piece in response.streaming_content if piece]
    assert len(pieces) == 3  # header + 2 rows, 2 rows, the last row
    assert b"".join(pieces).decode().count("\n") == 6


def test_another_partners_rows_are_never_exported(owner_client, partner, other_partner, unscoped):
    theirs = customer_for(other_partner, name="Their customer")
    make_invoice(other_partner, customer=theirs)
    make_invoice(partner)
    rows, _ = download(owner_client, "export_invoices")
    assert len(rows) == 1
    assert download(owner_client, "export_invoices", customer=str(theirs.pk))[0] == []
    assert download(owner_client, "export_customers", q="Their")[0] == []
    assert owner_client.post(reverse("export_invoices")).status_code == 405


def test_the_list_pages_link_to_the_export_of_what_they_show(owner_client, partner, unscoped):
    make_invoice(partner, customer=customer_for(partner, name="Ada"), currency="EUR")
    body = owner_client.get(reverse("invoice_list"), {"tab": "open", "currency": "EUR"}).content.decode()
    assert 'href="/reports/export/invoices.csv?tab=open&amp;currency=EUR"' in body
    assert 'href="/reports/export/payments.csv?tab=open&amp;currency=EUR"' in body
    body = owner_client.get(reverse("customer_list"), {"q": "ada", "archived": "1"}).content.decode()
    assert 'href="/reports/export/customers.csv?q=ada&amp;archived=1"' in body
