"""Warm render time of a one-page, five-line invoice PDF (the target is p95 <= 60 ms)."""

from harness import p95_ms, ready, report, setup

setup()

import datetime  # noqa: E402
from decimal import Decimal  # noqa: E402

from django_scopes import scope  # noqa: E402

from customers.models import Customer  # noqa: E402
from invoicing.models import Invoice, InvoiceStatus  # noqa: E402
from invoicing.pdf import invoice_pdf_render  # noqa: E402
from invoicing.services import InvoiceInput, LineInput, invoice_create  # noqa: E402
from partners.models import Partner  # noqa: E402


def bench_invoice() -> Invoice:
    """The same partner, customer and invoice on every run, created on the first."""
    partner, _ = Partner.objects.get_or_create(name="Bench PDF Partner")
    with scope(partner=partner):
        customer, _ = Customer.objects.get_or_create(
            partner=partner, email="bench-pdf@example.com", defaults={"name": "Bench PDF Customer"}
        )
        invoice = Invoice.objects.filter(partner=partner, status=InvoiceStatus.OPEN).first()
        if invoice is None:
            lines = [
                LineInput(f"Managed service {n}", Decimal(n), 12_500 + n, Decimal("8.25"))
                for n in range(1, 6)
            ]
            data = InvoiceInput(
                customer=customer,
                due_date=partner.today() + datetime.timedelta(days=30),
                currency="USD",
                lines=lines,
                memo="Thank you for your business.",
            )
            invoice = invoice_create(partner=partner, data=data, created_by=None, finalize=True)
        return Invoice.objects.select_related("partner", "customer").get(pk=invoice.pk)


invoice = bench_invoice()
assert invoice_pdf_render(invoice=invoice).startswith(b"%PDF")
invoice_pdf_render(invoice=invoice)  # fonts and stylesheet loaded, as in a serving process
ready()
report("invoice_pdf_p95_ms", p95_ms(lambda: invoice_pdf_render(invoice=invoice), runs=50, warmup=5), "ms")
