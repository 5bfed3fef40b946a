"""CSV exports of invoices, payments and customers, streamed.

A partner with 400,000 invoices must be able to export them without the request timing out or the
process growing: rows come from a server-side cursor (`.iterator(chunk_size=...)`) as tuples
(`values_list`, never model instances) and leave as CSV text a few hundred rows at a time, so memory
stays flat whatever the size, and the first bytes go out at once.

Cells a spreadsheet would read as a formula (starting with = + - @, a tab or a carriage return) get a
leading apostrophe ("CSV injection"); amounts and dates the app writes itself are left as they are.
"""

import csv
import datetime
import io
from collections.abc import Callable, Iterable, Iterator

from django.db.models import QuerySet

from core import money
from customers.models import Customer
from invoicing.models import Invoice, InvoiceStatus
from partners.models import Partner
from payments.models import Payment, PaymentMethodType

CHUNK_ROWS = 2000  # rows per FETCH from the server-side cursor
FLUSH_ROWS = 500  # rows per piece of the response
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
STATUS_LABELS = dict(InvoiceStatus.choices)
METHOD_LABELS = dict(PaymentMethodType.choices)


def safe_text(value) -> str:
    """A cell of text someone typed, defused if a spreadsheet would run it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _amount(minor: int | None, currency: str) -> str:
    return "" if minor is None else money.format_plain(minor, currency)


def _day(value: datetime.date | None) -> str:
    return value.isoformat() if value else ""


def _moment(zone) -> Callable[[datetime.datetime | None], str]:
    return lambda value: value.astimezone(zone).isoformat(timespec="seconds") if value else ""


def csv_stream(header: list[str], rows: Iterable[list]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for count, row in enumerate(rows, start=1):
        writer.writerow(row)
        if count % FLUSH_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


INVOICE_HEADER = [
    "Number", "Status", "Customer", "Company", "Customer email", "Currency", "Issue date", "Due date",
    "Subtotal", "Tax", "Total", "Paid", "Credited", "Refunded", "Amount due", "Paid at", "Voided at",
    "Created at", "Invoice ID",
]  # fmt: skip
INVOICE_FIELDS = [
    "number", "status", "customer__name", "customer__company", "customer__email", "currency", "issue_date",
    "due_date", "subtotal", "tax_total", "total", "amount_paid", "amount_credited", "amount_refunded",
    "amount_due", "paid_at", "voided_at", "created_at", "id",
]  # fmt: skip


def invoice_rows(*, partner: Partner, invoices: QuerySet[Invoice]) -> Iterator[list]:
    """The invoices as CSV rows (times in the partner's time zone, amounts in major units: 1250.50)."""
    moment = _moment(partner.zone)
    for row in invoices.values_list(*INVOICE_FIELDS).iterator(chunk_size=CHUNK_ROWS):
        (number, status, name, company, email, currency, issued, due, subtotal, tax, total, paid, credited,
         refunded, amount_due, paid_at, voided_at, created_at, invoice_id) = row  # fmt: skip
        yield [
            safe_text(number) or "Draft", STATUS_LABELS.get(status, status), safe_text(name),
            safe_text(company), safe_text(email), currency, _day(issued), _day(due),
            _amount(subtotal, currency), _amount(tax, currency), _amount(total, currency),
            _amount(paid, currency), _amount(credited, currency),
            _amount(refunded, currency), _amount(amount_due, currency), moment(paid_at), moment(voided_at),
            moment(created_at), invoice_id,
        ]  # fmt: skip


PAYMENT_HEADER = [
    "Received on", "Invoice", "Customer", "Company", "Currency", "Amount", "Refunded", "Kept as credit",
    "Method", "Reference", "Gateway charge", "Recorded by", "Recorded at", "Payment ID",
]  # fmt: skip
PAYMENT_FIELDS = [
    "received_on", "invoice__number", "customer__name", "customer__company", "currency", "amount",
    "amount_refunded", "credited_amount", "method", "reference", "gateway_charge_id", "recorded_by__email",
    "created_at", "id",
]  # fmt: skip


def payment_rows(*, partner: Partner, payments: QuerySet[Payment]) -> Iterator[list]:
    moment = _moment(partner.zone)
    for row in payments.values_list(*PAYMENT_FIELDS).iterator(chunk_size=CHUNK_ROWS):
        (received, number, name, company, currency, amount, refunded, credited, method, reference, charge,
         recorded_by, created_at, payment_id) = row  # fmt: skip
        yield [
            _day(received), safe_text(number), safe_text(name), safe_text(company), currency,
            _amount(amount, currency), _amount(refunded, currency), _amount(credited, currency),
            METHOD_LABELS.get(method, method), safe_text(reference), safe_text(charge),
            safe_text(recorded_by), moment(created_at), payment_id,
        ]  # fmt: skip


def payments_of(*, partner: Partner, invoices: QuerySet[Invoice] | None) -> QuerySet[Payment]:
    """Payments of the given invoices (all of the partner's when None), oldest first."""
    payments = Payment.objects.filter(partner=partner)
    if invoices is not None:
        payments = payments.filter(invoice__in=invoices.order_by().values("pk"))
    return payments.order_by("received_on", "id")


CUSTOMER_HEADER = [
    "Name", "Company", "Email", "CC emails", "Phone", "Tax ID", "Address line 1", "Address line 2", "City",
    "State / region", "Postal code", "Country", "Auto-Pay", "Created at", "Archived at", "Customer ID",
]  # fmt: skip
CUSTOMER_FIELDS = [
    "name", "company", "email", "cc_emails", "phone", "tax_id", "address_line1", "address_line2", "city",
    "region", "postal_code", "country", "autopay", "created_at", "archived_at", "id",
]  # fmt: skip


def customer_rows(*, partner: Partner, customers: QuerySet[Customer]) -> Iterator[list]:
    moment = _moment(partner.zone)
    for row in customers.values_list(*CUSTOMER_FIELDS).iterator(chunk_size=CHUNK_ROWS):
        (name, company, email, cc_emails, phone, tax_id, line1, line2, city, region, postal_code, country,
         autopay, created_at, archived_at, customer_id) = row  # fmt: skip
        yield [
            *(safe_text(value) for value in (name, company, email)),
            safe_text(", ".join(cc_emails or [])),
            *(safe_text(value) for value in (phone, tax_id, line1, line2, city, region, postal_code)),
            safe_text(country),
            "yes" if autopay else "no", moment(created_at), moment(archived_at), customer_id,
        ]  # fmt: skip
