"""Invoice PDFs: what the customer reads in them, that each issued version is drawn once (by a worker when
it is made) and then served from storage, that rendering never reaches the network, and that only the
invoice's own partner can download it.

Text and page counts come from poppler's `pdftotext` and `pdfinfo` (Debian's poppler-utils).
"""

import datetime
import io
import os
import shutil
import subprocess
from decimal import Decimal

import pytest
from django.urls import reverse
from django_scopes import scope
from PIL import Image

from core.formats import format_day
from customers.models import Customer
from invoicing import pdf
from invoicing.models import Invoice, InvoicePdf
from invoicing.services import (
    InvoiceInput,
    LineInput,
    credit_note_create,
    invoice_apply_payment,
    invoice_create,
    invoice_update_memo,
    invoice_void,
)
from invoicing.tasks import store_invoice_pdf
from partners.models import Role
from partners.services import partner_set_logo
from tests.conftest import client_for, member_of

pytestmark = pytest.mark.django_db
POPPLER_TOOLS = ("pdftotext", "pdfinfo", "pdfimages", "pdffonts", "pdftoppm")


@pytest.fixture(autouse=True)
def _poppler():
    if all(shutil.which(tool) for tool in POPPLER_TOOLS):
        return
    message = f"poppler-utils ({', '.join(POPPLER_TOOLS)}) is missing: apt-get install poppler-utils"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def customer(partner):
    with scope(partner=partner):
        return Customer.objects.create(
            partner=partner,
            name="Ada Lovelace",
            company="Analytical Engines Ltd",
            email="ada@engines.example",
            address_line1="12 Babbage Street",
            city="London",
            postal_code="EC1A 1BB",
            country="GB",
        )


def line(description="Managed backup, per device", quantity="2", unit_price=12500, tax_rate="8.25"):
    return LineInput(
        description=description,
        quantity=Decimal(quantity),
        unit_price=unit_price,
        tax_rate=Decimal(tax_rate),
    )


def make_invoice(partner, customer, *, lines=None, currency="USD", memo="", finalize=True):
    data = InvoiceInput(
        customer=customer,
        due_date=partner.today() + datetime.timedelta(days=30),
        currency=currency,
        lines=lines or [line()],
        memo=memo,
        footer="Thank you for your business. Bank transfer: ACME Bank 000-111.",
    )
    with scope(partner=partner):
        return invoice_create(partner=partner, data=data, created_by=None, finalize=finalize)


def poppler(tool: str, content: bytes, tmp_path, *options: str, output: tuple[str, ...] = ()) -> str:
    path = tmp_path / "invoice.pdf"
    path.write_bytes(content)
    command = [tool, *options, str(path), *output]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def text_of(content: bytes, tmp_path) -> str:
    return poppler("pdftotext", content, tmp_path, "-layout", output=("-",))


def pages_of(content: bytes, tmp_path) -> int:
    info = poppler("pdfinfo", content, tmp_path)
    return int(next(row.split()[1] for row in info.splitlines() if row.startswith("Pages:")))


def test_the_pdf_shows_number_customer_lines_and_amounts(partner, customer, tmp_path):
    invoice = make_invoice(partner, customer, memo="Thanks for the quick turnaround.")

    content = pdf.invoice_pdf_render(invoice=invoice)

    assert content.startswith(b"%PDF-")
    assert content.rstrip().endswith(b"%%EOF")
    text = text_of(content, tmp_path)
    due = format_day(invoice.due_date)
    for expected in (
        invoice.number,
        "Analytical Engines Ltd",
        "Ada Lovelace",
        partner.name,
        "Managed backup, per device",
        "$125.00",  # unit price
        "$250.00",  # line amount and subtotal
        "8.25%",
        "$20.63",  # tax, rounded half-up
        "$270.63",  # total and amount due
        f"$270.63 due {due}",
        "Thanks for the quick turnaround.",
        "Thank you for your business.",
    ):
        assert expected in text, expected
    assert "DRAFT" not in text.upper()
    assert pages_of(content, tmp_path) == 1


def test_each_page_ends_with_the_number_the_amount_due_and_the_page_count(partner, customer, tmp_path):
    invoice = make_invoice(partner, customer, lines=[line(f"Device {n}") for n in range(60)])

    content = pdf.invoice_pdf_render(invoice=invoice)

    pages = text_of(content, tmp_path).split("\f")[:-1]
    assert len(pages) == pages_of(content, tmp_path) > 1
    amount_due = pdf.format_money(invoice.amount_due, "USD")
    summary = f"{invoice.number} · {amount_due} due {format_day(invoice.due_date)}"
    for number, page in enumerate(pages, start=1):
        last_line = page.strip().splitlines()[-1]
        assert summary in last_line
        assert f"Page {number} of {len(pages)}" in last_line


def header_row(content: bytes, tmp_path) -> str:
    return next(row for row in text_of(content, tmp_path).splitlines() if "Description" in row)


def test_one_tax_rate_is_stated_in_the_totals_not_on_every_line(partner, customer, tmp_path):
    invoice = make_invoice(partner, customer, lines=[line("Backup"), line("Monitoring", "1", 5_000)])

    content = pdf.invoice_pdf_render(invoice=invoice)

    assert header_row(content, tmp_path).split() == ["Description", "Qty", "Unit", "price", "Amount"]
    text = text_of(content, tmp_path)
    assert text.count("8.25%") == 1
    assert "Tax (8.25% on $300.00)" in text


def test_lines_taxed_at_different_rates_each_show_their_rate(partner, customer, tmp_path):
    lines = [line("Backup"), line("Training", "1", 5_000, "0"), line("Licences", "3", 1_000, "20")]
    invoice = make_invoice(partner, customer, lines=lines)

    content = pdf.invoice_pdf_render(invoice=invoice)

    assert header_row(content, tmp_path).split() == ["Description", "Qty", "Unit", "price", "Tax", "Amount"]
    rows = text_of(content, tmp_path).splitlines()
    for description, rate in (("Backup", "8.25%"), ("Training", "0%"), ("Licences", "20%")):
        assert rate in next(row for row in rows if row.lstrip().startswith(description))


def test_the_text_is_set_in_the_fonts_shipped_with_the_app(partner, customer, tmp_path):
    """Only the @font-face family from static/fonts/ is used and embedded, never a system fallback."""
    content = pdf.invoice_pdf_render(invoice=make_invoice(partner, customer))

    rows = poppler("pdffonts", content, tmp_path).splitlines()[2:]
    fonts = {row.split()[0].split("+", 1)[-1]: row.split()[-5] for row in rows}
    assert fonts == {"Invoice-Sans": "yes", "Invoice-Sans-Bold": "yes"}  # name: embedded


def test_control_characters_pasted_into_a_memo_still_render(partner, customer, tmp_path):
    invoice = make_invoice(partner, customer, memo="Ref\x01 42, see \x08attached")

    text = text_of(pdf.invoice_pdf_render(invoice=invoice), tmp_path)

    assert "Ref" in text
    assert "attached" in text


def test_ten_lines_fit_on_one_page(partner, customer, tmp_path):
    lines = [line(f"Service item {n}: monthly support retainer", "1.5", 9900 + n) for n in range(10)]
    invoice = make_invoice(partner, customer, lines=lines)

    content = pdf.invoice_pdf_render(invoice=invoice)

    assert pages_of(content, tmp_path) == 1
    text = text_of(content, tmp_path)
    assert "Service item 0" in text
    assert "Service item 9" in text


def test_a_draft_says_draft_and_shows_the_customer_as_they_are_now(partner, customer, tmp_path):
    invoice = make_invoice(partner, customer, finalize=False)
    customer.company = "Difference Engines plc"
    customer.save(update_fields=["company"])

    text = text_of(pdf.invoice_pdf_get(invoice=invoice), tmp_path)

    assert "DRAFT" in text
    assert "Draft invoice" in text
    assert "Difference Engines plc" in text
    assert not InvoicePdf.objects.with_scopes_disabled().filter(invoice=invoice).exists()


def test_an_issued_invoice_keeps_the_parties_it_was_issued_to(partner, customer, tmp_path):
    invoice = make_invoice(partner, customer)
    customer.company = "Difference Engines plc"
    customer.save(update_fields=["company"])
    partner.name = "Renamed After Issue LLC"
    partner.save(update_fields=["name"])
    invoice = Invoice.objects.with_scopes_disabled().select_related("partner", "customer").get(pk=invoice.pk)

    text = text_of(pdf.invoice_pdf_render(invoice=invoice), tmp_path)

    assert "Analytical Engines Ltd" in text
    assert "Northwind IT" in text
    assert "Difference Engines plc" not in text
    assert "Renamed After Issue LLC" not in text


def test_paid_and_void_invoices_carry_a_stamp(partner, customer, tmp_path):
    paid = make_invoice(partner, customer)
    void = make_invoice(partner, customer)
    with scope(partner=partner):
        paid = invoice_apply_payment(invoice=paid, amount=paid.total, actor=None, message="Bank transfer")
        void = invoice_void(invoice=void, actor=None)

    paid_text = text_of(pdf.invoice_pdf_render(invoice=paid), tmp_path)
    assert "PAID" in paid_text
    assert "$270.63 paid on" in paid_text
    void_text = text_of(pdf.invoice_pdf_render(invoice=void), tmp_path)
    assert "VOID" in void_text
    assert "nothing is due" in void_text


def test_credits_and_payments_reduce_the_amount_due(partner, customer, tmp_path):
    invoice = make_invoice(partner, customer)
    with scope(partner=partner):
        invoice = invoice_apply_payment(invoice=invoice, amount=10000, actor=None, message="Cheque")
        credit_note_create(invoice=invoice, amount=5000, reason="Goodwill", actor=None)
        invoice.refresh_from_db()

    text = text_of(pdf.invoice_pdf_render(invoice=invoice), tmp_path)

    assert "Amount paid" in text
    assert "$100.00" in text
    assert "Credits" in text
    assert "$50.00" in text
    assert "$120.63 due" in text


@pytest.mark.parametrize(
    ("currency", "unit_price", "expected"),
    [("JPY", 12500, ["¥12,500", "¥25,000"]), ("KWD", 12500, ["KWD 12.500", "KWD 25.000"])],
)
def test_amounts_use_the_currencys_decimals(partner, customer, tmp_path, currency, unit_price, expected):
    invoice = make_invoice(partner, customer, currency=currency, lines=[line(unit_price=unit_price)])

    text = text_of(pdf.invoice_pdf_render(invoice=invoice), tmp_path)

    for amount in expected:
        assert amount in text


def must_not_render(**kwargs):
    raise AssertionError("rendered again although this version is stored")


def stored_versions(invoice) -> list[int]:
    return list(
        InvoicePdf.objects.with_scopes_disabled().filter(invoice=invoice).values_list("version", flat=True)
    )


def test_issuing_stores_the_pdf_and_a_download_does_not_render_it_again(
    partner, customer, owner, monkeypatch, django_capture_on_commit_callbacks, caplog, tmp_path
):
    with django_capture_on_commit_callbacks(execute=True):  # the worker's task, run eagerly
        invoice = make_invoice(partner, customer)
    assert stored_versions(invoice) == [invoice.version]
    stored = bytes(InvoicePdf.objects.with_scopes_disabled().get(invoice=invoice).content)
    assert invoice.number in text_of(stored, tmp_path)

    monkeypatch.setattr(pdf, "invoice_pdf_render", must_not_render)
    response = client_for(owner).get(reverse("invoice_pdf", args=[invoice.pk]))

    assert response.status_code == 200
    assert response.content == stored
    assert "not stored yet" not in caplog.text


def test_the_emailed_invoice_attaches_the_stored_pdf(
    partner, customer, owner, monkeypatch, django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=True):
        invoice = make_invoice(partner, customer)
    stored = bytes(InvoicePdf.objects.with_scopes_disabled().get(invoice=invoice).content)
    monkeypatch.setattr(pdf, "invoice_pdf_render", must_not_render)
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(owner).post(reverse("invoice_send", args=[invoice.pk]))

    assert response.status_code == 302
    [message] = mailoutbox
    assert message.attachments == [(f"{invoice.number}.pdf", stored, "application/pdf")]


def test_each_new_version_is_stored_by_the_worker_and_the_old_one_dropped(
    partner, customer, django_capture_on_commit_callbacks, tmp_path
):
    with django_capture_on_commit_callbacks(execute=True):
        invoice = make_invoice(partner, customer, memo="First memo.")
    with scope(partner=partner), django_capture_on_commit_callbacks(execute=True):
        invoice = invoice_update_memo(invoice=invoice, memo="Second memo, after the call.", actor=None)
        invoice = invoice_apply_payment(invoice=invoice, amount=10_000, actor=None, message="Cheque")

    assert stored_versions(invoice) == [invoice.version]
    text = text_of(pdf.invoice_pdf_get(invoice=invoice), tmp_path)
    assert "Second memo, after the call." in text
    assert "First memo." not in text
    assert "$100.00" in text  # the payment


def test_drafts_are_not_stored(partner, customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        draft = make_invoice(partner, customer, finalize=False)
        with scope(partner=partner):
            invoice_update_memo(invoice=draft, memo="Still a draft", actor=None)

    assert pdf.invoice_pdf_get(invoice=draft).startswith(b"%PDF-")
    assert stored_versions(draft) == []


def test_the_worker_task_is_safe_to_run_twice(partner, customer, monkeypatch):
    invoice = make_invoice(partner, customer)  # its on-commit task never ran (the test's transaction)
    assert store_invoice_pdf(partner_id=partner.pk, invoice_id=invoice.pk) == "stored"
    monkeypatch.setattr(pdf, "invoice_pdf_render", must_not_render)

    assert store_invoice_pdf(partner_id=partner.pk, invoice_id=invoice.pk) == "stored"
    assert stored_versions(invoice) == [invoice.version]


def test_the_worker_task_draws_nothing_for_another_partners_invoice(partner, customer, other_partner):
    invoice = make_invoice(partner, customer)

    assert store_invoice_pdf(partner_id=other_partner.pk, invoice_id=invoice.pk) == "skipped"
    assert store_invoice_pdf(partner_id=partner.pk, invoice_id="1; DROP") == "rejected"
    assert stored_versions(invoice) == []


def test_a_version_not_stored_yet_is_rendered_on_download_logged_and_kept(
    partner, customer, monkeypatch, caplog
):
    """The worker has not run yet (or the broker was down when the invoice was issued)."""
    invoice = make_invoice(partner, customer)  # its on-commit task never ran (the test's transaction)

    first = pdf.invoice_pdf_get(invoice=invoice)

    assert f"PDF of invoice {invoice.pk} version {invoice.version} was not stored yet" in caplog.text
    assert stored_versions(invoice) == [invoice.version]
    monkeypatch.setattr(pdf, "invoice_pdf_render", must_not_render)
    assert pdf.invoice_pdf_get(invoice=invoice) == first


def test_a_version_stored_meanwhile_by_another_request_is_served(partner, customer, monkeypatch):
    """Two first downloads at once (or a download and the worker): the loser of the unique constraint
    serves the winner's copy."""
    invoice = make_invoice(partner, customer)
    winner = b"%PDF-1.7 stored by the other request"
    real_render = pdf.invoice_pdf_render

    def render_while_another_request_stores(**kwargs):
        InvoicePdf.objects.with_scopes_disabled().create(
            partner=partner, invoice=invoice, version=invoice.version, content=winner
        )
        return real_render(**kwargs)

    monkeypatch.setattr(pdf, "invoice_pdf_render", render_while_another_request_stores)

    assert pdf.invoice_pdf_get(invoice=invoice) == winner
    assert InvoicePdf.objects.with_scopes_disabled().filter(invoice=invoice).count() == 1


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/x.png",
        "https://example.com/font.ttf",
        "ftp://example.com/x",
        "file:///etc/passwd",
        f"{pdf.FONTS_DIR.as_uri()}/../../manage.py",
    ],
)
def test_the_fetcher_refuses_anything_but_the_apps_fonts(url):
    with pytest.raises(pdf.RemoteFetchRefused):
        pdf.LocalOnlyFetcher().fetch(url)


def test_the_fetcher_serves_the_shipped_fonts_and_inline_images():
    fetcher = pdf.LocalOnlyFetcher()
    font = fetcher.fetch((pdf.FONTS_DIR / "DejaVuSans.ttf").as_uri())
    assert font.read(4) == b"\x00\x01\x00\x00"  # a TrueType font
    assert fetcher.fetch("data:text/plain;base64,aGk=").read() == b"hi"


def test_markup_in_a_memo_is_printed_as_text_and_nothing_is_fetched(partner, customer, monkeypatch, tmp_path):
    invoice = make_invoice(partner, customer, memo='See <img src="http://example.com/x.png"> here')
    fetched = []
    real_fetch = pdf.LocalOnlyFetcher.fetch

    def recording_fetch(self, url, headers=None):
        fetched.append(url)
        return real_fetch(self, url, headers)

    def no_network(*args, **kwargs):
        raise AssertionError("the PDF renderer opened a network connection")

    monkeypatch.setattr(pdf.LocalOnlyFetcher, "fetch", recording_fetch)
    monkeypatch.setattr("socket.create_connection", no_network)
    monkeypatch.setattr("socket.socket.connect", no_network)

    text = text_of(pdf.invoice_pdf_render(invoice=invoice), tmp_path)

    assert '<img src="http://example.com/x.png">' in text
    assert not [url for url in fetched if not url.startswith(("data:", pdf.FONTS_DIR.as_uri()))]


def png(width: int, height: int) -> bytes:
    output = io.BytesIO()
    Image.new("RGB", (width, height), "#1f4e8c").save(output, format="PNG")
    return output.getvalue()


def embedded_image_sizes(content: bytes, tmp_path) -> list[list[str]]:
    rows = poppler("pdfimages", content, tmp_path, "-list").splitlines()[2:]
    return [row.split()[3:5] for row in rows]  # width, height in pixels


def test_the_partners_logo_is_embedded(partner, customer, tmp_path):
    partner_set_logo(partner=partner, data=png(120, 40), content_type="image/png")
    invoice = make_invoice(partner, customer)

    content = pdf.invoice_pdf_render(invoice=invoice)

    assert embedded_image_sizes(content, tmp_path) == [["120", "40"]]
    assert partner.name not in text_of(content, tmp_path).splitlines()[0]  # the logo stands in for the name


def test_a_huge_logo_is_scaled_down_before_it_is_embedded(partner, customer, tmp_path):
    partner_set_logo(partner=partner, data=png(3600, 1200), content_type="image/png")
    invoice = make_invoice(partner, customer)

    content = pdf.invoice_pdf_render(invoice=invoice)

    assert embedded_image_sizes(content, tmp_path) == [["528", "176"]]
    assert len(content) < 100_000


def test_an_unreadable_logo_prints_the_business_name(partner, customer, tmp_path):
    partner_set_logo(partner=partner, data=b"not an image", content_type="image/png")
    invoice = make_invoice(partner, customer)

    content = pdf.invoice_pdf_render(invoice=invoice)

    assert embedded_image_sizes(content, tmp_path) == []
    assert partner.name in text_of(content, tmp_path)


def test_open_invoices_print_the_pay_portal_address_and_number_never_a_token(
    partner, customer, settings, tmp_path
):
    invoice = make_invoice(partner, customer)
    token = invoice.fresh_pay_url.rstrip("/").rsplit("/", 1)[-1]

    text = text_of(pdf.invoice_pdf_render(invoice=invoice), tmp_path)

    assert f"Pay online at {settings.SITE_URL}/pay/?invoice={invoice.number}" in text  # the number filled in
    assert token not in text  # PDFs are stored and forwarded; the pay link's token stays in emails
    draft = make_invoice(partner, customer, finalize=False)
    assert "Pay online" not in text_of(pdf.invoice_pdf_render(invoice=draft), tmp_path)


def test_the_owner_downloads_the_pdf(partner, customer, owner, tmp_path):
    invoice = make_invoice(partner, customer)

    response = client_for(owner).get(reverse("invoice_pdf", args=[invoice.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{invoice.number}.pdf"'
    assert invoice.number in text_of(response.content, tmp_path)


def test_a_draft_downloads_under_its_id(partner, customer, owner):
    invoice = make_invoice(partner, customer, finalize=False)

    response = client_for(owner).get(reverse("invoice_pdf", args=[invoice.pk]))

    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="draft-{invoice.pk}.pdf"'


def test_another_partners_invoice_is_not_found(partner, customer, other_owner):
    invoice = make_invoice(partner, customer)

    response = client_for(other_owner).get(reverse("invoice_pdf", args=[invoice.pk]))

    assert response.status_code == 404
    assert not InvoicePdf.objects.with_scopes_disabled().exists()


def test_a_read_only_member_may_download(partner, customer):
    invoice = make_invoice(partner, customer)
    reader = member_of(partner, Role.READ_ONLY).user

    response = client_for(reader).get(reverse("invoice_pdf", args=[invoice.pk]))

    assert response.status_code == 200


def test_a_very_light_brand_colour_keeps_headings_readable():
    assert pdf.brand_colours("#ffee00")["ink"] == "#1b1f24"
    assert pdf.brand_colours("#1f4e8c") == {"accent": "#1f4e8c", "ink": "#1f4e8c"}
    assert pdf.brand_colours("red; } body { display: none")["accent"] == pdf.DEFAULT_BRAND_COLOUR
