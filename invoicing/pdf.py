"""Invoice PDFs, drawn by WeasyPrint from `templates/invoicing/pdf/invoice.html`.

Each issued version is rendered once, by a worker when the version is made (invoicing.tasks), and kept
in `InvoicePdf`; downloads and email attachments read that copy. A draft is drawn on request. Rendering
never touches the network: the fonts ship in `static/fonts/`, the logo is inlined as a `data:` URI, and
the URL fetcher refuses everything else. The font configuration and the parsed stylesheet are built
once per process.
"""

import base64
import functools
import io
import logging
import mimetypes
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from django.conf import settings
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django_scopes import scope
from PIL import Image
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from core.formats import format_day
from core.money import format_money, format_number, format_rate
from invoicing.models import Invoice, InvoiceAction, InvoicePdf, InvoiceStatus
from invoicing.selectors import invoice_taxes
from invoicing.services import buyer_details, seller_details

logger = logging.getLogger(__name__)
STATIC_DIR = Path(settings.BASE_DIR) / "static"
FONTS_DIR = STATIC_DIR / "fonts"
STYLESHEET = STATIC_DIR / "css" / "invoice-pdf.css"
TEMPLATE = "invoicing/pdf/invoice.html"
DEFAULT_BRAND_COLOUR = "#1f4e8c"
HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
LOGO_MAX_PIXELS = (720, 176)  # four times the printed box (180 x 44 pt): sharp when printed
LOGO_CACHE_SIZE = 32
STAMPS = {InvoiceStatus.DRAFT: "Draft", InvoiceStatus.PAID: "Paid", InvoiceStatus.VOID: "Void"}

# Pango and Fontconfig objects are not safe to share between threads; a render is short, so threads of
# one process (gunicorn --threads) simply take turns.
_render_lock = threading.Lock()
_logos: dict[str, "_Logo"] = {}  # by logo_sha256, oldest first


class RemoteFetchRefused(ValueError):
    """A PDF asked for something other than the app's own fonts or an inlined image."""


class LocalOnlyFetcher(URLFetcher):
    """Serves `data:` URIs and files under static/fonts/; raises for http(s), ftp and everything else."""

    def fetch(self, url, headers=None):
        scheme = urlsplit(url).scheme.lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme == "file":
            path = Path(url2pathname(urlsplit(url).path)).resolve()
            if path.is_relative_to(FONTS_DIR.resolve()) and path.is_file():
                content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": content_type})
        raise RemoteFetchRefused(f"Invoice PDFs load only the app's own fonts, not {url[:200]}")


@functools.cache
def _assets() -> tuple[FontConfiguration, CSS, LocalOnlyFetcher]:
    """Built on first use in each process (not at import, so forked workers each build their own)."""
    fetcher = LocalOnlyFetcher()
    font_config = FontConfiguration()
    stylesheet = CSS(filename=str(STYLESHEET), url_fetcher=fetcher, font_config=font_config)
    return font_config, stylesheet, fetcher


@functools.lru_cache(maxsize=64)
def _brand_stylesheet(accent: str, ink: str) -> CSS:
    """The partner's colours, on the few elements that carry them.

    A stylesheet parsed once per colour pair and drawn before invoice-pdf.css, whose rules (such as a
    void invoice's grey amounts) win over it. The colours come from the partner's settings, checked by
    `brand_colours`, never from free text."""
    return CSS(
        string=f"""
        body::before, .lines th {{ border-color: {accent}; }}
        h1, .brand-name, .amount-line, .pay-link a, .totals .amount-due th, .totals .amount-due td {{
            color: {ink};
        }}
        """
    )


def invoice_pay_url(invoice: Invoice) -> str | None:
    """Where the PDF sends the customer to pay: the portal's address, used with the invoice number.

    Not the invoice's own pay link: its token is stored only hashed (the URL exists only when issued),
    and PDFs are stored in the database and forwarded freely. At this address the customer enters the
    invoice number and their email, and the link is emailed to the address on file."""
    if invoice.refusal(InvoiceAction.PAY):
        return None
    return settings.SITE_URL + reverse("pay_lookup")


def invoice_pdf_render(*, invoice: Invoice) -> bytes:
    """Draw the invoice as it is now. Always renders; `invoice_pdf_get` is the way in for a download."""
    # Its own partner's scope, so a Celery task or a script can call this as safely as a view.
    with scope(partner=invoice.partner):
        context = _context(invoice)
    with _render_lock:
        font_config, stylesheet, fetcher = _assets()
        logo = _logo(invoice.partner)
        html = render_to_string(TEMPLATE, context | {"logo_uri": logo.data_uri})
        brand = _brand_stylesheet(context["brand"]["accent"], context["brand"]["ink"])
        document = HTML(string=html, base_url=FONTS_DIR.as_uri() + "/", url_fetcher=fetcher)
        return document.write_pdf(stylesheets=[brand, stylesheet], font_config=font_config, cache=logo.images)


def invoice_pdf_get(*, invoice: Invoice) -> bytes:
    """The PDF of `invoice.version`: the stored copy, drawn when the version was made.

    Drafts are rendered every time: they show the live partner and customer, whose edits do not bump
    the invoice's version, so a stored draft PDF could go stale. An issued version not stored yet (its
    worker has not run, or the broker was down) is rendered and stored here, once.
    """
    if invoice.is_draft:
        return invoice_pdf_render(invoice=invoice)
    with scope(partner=invoice.partner):
        stored = _stored(invoice)
    if stored is not None:
        return stored
    logger.warning(
        "PDF of invoice %s version %s was not stored yet; rendering it now", invoice.pk, invoice.version
    )
    return invoice_pdf_store(invoice=invoice)


def invoice_pdf_store(*, invoice: Invoice) -> bytes:
    """Render `invoice.version` of an issued invoice and keep it, unless it is kept already; drop the
    versions before it. Safe to run twice, and at once: every caller gets the one stored copy."""
    with scope(partner=invoice.partner):
        stored = _stored(invoice)
        if stored is not None:
            return stored
        content = invoice_pdf_render(invoice=invoice)
        try:
            with transaction.atomic():
                InvoicePdf.objects.create(
                    partner_id=invoice.partner_id, invoice=invoice, version=invoice.version, content=content
                )
        except IntegrityError:
            # A worker or a request stored this version first: serve its copy, so every download matches.
            return _stored(invoice) or content
        InvoicePdf.objects.filter(invoice=invoice, version__lt=invoice.version).delete()
        return content


def _stored(invoice: Invoice) -> bytes | None:
    rows = InvoicePdf.objects.filter(invoice=invoice, version=invoice.version).values_list(
        "content", flat=True
    )
    content = rows.first()
    return bytes(content) if content is not None else None


def _context(invoice: Invoice) -> dict:
    currency = invoice.currency
    lines = list(invoice.lines.all())
    seller, buyer = _seller(invoice), _buyer(invoice)
    headline = _headline(invoice)
    return {
        "invoice": invoice,
        "seller": seller,
        "buyer": buyer,
        "brand": brand_colours(seller.get("brand_colour")),
        "stamp": STAMPS.get(invoice.status, ""),
        "issue_date": format_day(invoice.issue_date),
        "due_date": format_day(invoice.due_date),
        "lines": [_line(line, currency) for line in lines],
        # One rate for every line is said once, in the totals ("Tax (8.25% on $500.00)"); a column
        # repeating it on each line costs the reader a column and the render 2-3 ms.
        "tax_column": len({line.tax_rate for line in lines}) > 1,
        "taxes": _taxes(invoice, lines, currency),
        "subtotal": format_money(invoice.subtotal, currency),
        "tax_total": format_money(invoice.tax_total, currency),
        "total": format_money(invoice.total, currency),
        "amount_paid": format_money(invoice.amount_paid, currency),
        "amount_credited": format_money(invoice.amount_credited, currency),
        "amount_due": format_money(invoice.amount_due, currency),
        "headline": headline,
        "summary": f"{invoice.display_number} · {headline}",
        "memo_lines": invoice.memo.splitlines(),
        "footer_lines": invoice.footer.splitlines(),
        "pay_url": invoice_pay_url(invoice),
    }


def _headline(invoice: Invoice) -> str:
    """What the customer most needs to know, in the partner's time zone: '$1,250.00 due Nov 21, 2026'."""
    if invoice.status == InvoiceStatus.VOID:
        return "Void: nothing is due"
    if invoice.status == InvoiceStatus.PAID:
        paid_on = invoice.paid_at.astimezone(invoice.partner.zone).date() if invoice.paid_at else None
        total = format_money(invoice.total, invoice.currency)
        return f"{total} paid on {format_day(paid_on)}" if paid_on else f"{total} paid"
    return f"{format_money(invoice.amount_due, invoice.currency)} due {format_day(invoice.due_date)}"


def _seller(invoice: Invoice) -> dict:
    """The frozen copy for an issued invoice; the partner as it is now for a draft."""
    return invoice.seller or seller_details(invoice.partner)


def _buyer(invoice: Invoice) -> dict:
    return invoice.buyer or buyer_details(invoice.customer)


def brand_colours(colour: str | None) -> dict:
    """The accent as chosen, and a text colour that stays readable when the accent is very light."""
    accent = colour if colour and HEX_COLOUR.match(colour) else DEFAULT_BRAND_COLOUR
    red, green, blue = (int(accent[i : i + 2], 16) / 255 for i in (1, 3, 5))
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    return {"accent": accent, "ink": accent if luminance < 0.6 else "#1b1f24"}


@dataclass(frozen=True)
class _Logo:
    data_uri: str
    images: dict = field(default_factory=dict)  # WeasyPrint's decoded image, reused between renders


def _logo(partner) -> _Logo:
    """The partner's logo, scaled down once per logo and kept for the next renders.

    An uploaded logo can be 4000 px wide; WeasyPrint would decode and recompress it on every render
    (hundreds of ms) and embed megabytes in every stored PDF. Called under `_render_lock`.
    """
    if not partner.logo_sha256 or not partner.logo:
        return _Logo("")
    logo = _logos.get(partner.logo_sha256)
    if logo is None:
        logo = _Logo(_logo_data_uri(bytes(partner.logo)))
        if len(_logos) >= LOGO_CACHE_SIZE:
            del _logos[next(iter(_logos))]  # the oldest
        _logos[partner.logo_sha256] = logo
    return logo


def _logo_data_uri(content: bytes) -> str:
    try:
        with Image.open(io.BytesIO(content)) as image:
            image.thumbnail(LOGO_MAX_PIXELS)
            keep_jpeg = image.format == "JPEG" and image.mode in ("RGB", "L")
            output = io.BytesIO()
            image.save(output, format="JPEG" if keep_jpeg else "PNG", quality=90, optimize=True)
    except (OSError, ValueError, Image.DecompressionBombError):
        return ""  # an unreadable logo prints the business name instead
    encoded = base64.b64encode(output.getvalue()).decode("ascii")
    return f"data:image/{'jpeg' if keep_jpeg else 'png'};base64,{encoded}"


def _line(line, currency: str) -> dict:
    return {
        "description": line.description,
        "quantity": format_number(line.quantity),
        "unit_price": format_money(line.unit_price, currency),
        "tax_rate": format_rate(line.tax_rate),
        "amount": format_money(line.amount, currency),
    }


def _taxes(invoice: Invoice, lines: list, currency: str) -> list[dict]:
    """One row per tax rate with the base it is on, so each row is its rate times its base."""
    return [
        {
            "rate": format_rate(tax.rate),
            "on": format_money(tax.base, currency),
            "amount": format_money(tax.tax, currency),
        }
        for tax in invoice_taxes(invoice=invoice, lines=lines)
    ]
