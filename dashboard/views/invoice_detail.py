"""What the invoice detail page shows, shared by the page and by every action that re-renders it with a
form's errors (record a payment, issue a credit note, charge, refund)."""

from django.contrib import messages
from django.shortcuts import render

from core import money
from customers.selectors import customer_payment_methods
from invoicing import selectors
from invoicing.forms import CreditNoteForm, MemoForm
from invoicing.models import Invoice, InvoiceAction
from payments import selectors as payment_selectors
from payments.forms import ChargeForm, OfflinePaymentForm, RefundForm
from payments.models import AttemptStatus, Payment

PAY_LINK_TAG = "pay-link"


def pay_link_message(request, url: str | None, *, reissued: bool = False) -> None:
    """Issuing an invoice (or Reissue pay link) makes the customer's pay link; only its hash is stored,
    so the next page shows it once, as a Copy link button (includes/messages.html). It travels in the
    messages cookie, never in the database."""
    if url:
        messages.success(request, url, extra_tags=PAY_LINK_TAG + (" reissued" if reissued else ""))


def charge_form(request, invoice: Invoice, methods, data=None) -> ChargeForm:
    default = next((m.pk for m in methods if m.is_default), methods[0].pk if methods else None)
    return ChargeForm(
        data,
        currency=invoice.currency,
        methods=methods,
        today=request.partner.today(),
        initial={
            "payment_method": default,
            "amount": money.format_plain(invoice.amount_due, invoice.currency),
        },
    )


def refund_form(payment: Payment, data=None) -> RefundForm:
    return RefundForm(
        data,
        currency=payment.currency,
        prefix=f"refund-{payment.pk}",
        initial={"amount": money.format_plain(payment.refundable, payment.currency)},
    )


def offline_payment_form(request, invoice: Invoice, data=None) -> OfflinePaymentForm:
    return OfflinePaymentForm(
        data,
        currency=invoice.currency,
        initial={
            "amount": money.format_plain(invoice.amount_due, invoice.currency),
            "received_on": request.partner.today(),
        },
    )


def credit_form(invoice: Invoice, data=None) -> CreditNoteForm:
    return CreditNoteForm(data, currency=invoice.currency)


def _charge_methods(invoice: Invoice) -> list:
    if invoice.refusal(InvoiceAction.CHARGE):
        return []
    return list(customer_payment_methods(customer=invoice.customer))


# The money actions' forms (the "Collect" panel) are drawn when their panel is opened, by
# `action_form_context` through htmx, or on the page itself when it is asked for one (?open=charge,
# also how a browser without JavaScript gets it) or shows one's errors. The page no longer renders
# three forms nobody opened on every view: about a fifth of its time.
ACTION_FORMS = ("charge", "payment", "credit")


def action_form_context(request, invoice: Invoice, name: str, methods=None, forms=None) -> dict:
    """The context of one money action's form: a fresh one, or the bound one given in `forms`."""
    forms = forms or {}
    if name == "charge":
        methods = _charge_methods(invoice) if methods is None else methods
        form = forms.get("charge_form") or (charge_form(request, invoice, methods) if methods else None)
        return {"invoice": invoice, "charge_form": form}
    if name == "payment":
        return {
            "invoice": invoice,
            "payment_form": forms.get("payment_form") or offline_payment_form(request, invoice),
        }
    return {"invoice": invoice, "credit_form": forms.get("credit_form") or credit_form(invoice)}


def _payments_context(request, invoice: Invoice, forms: dict) -> dict:
    methods = _charge_methods(invoice)
    payments = list(payment_selectors.invoice_payments(invoice=invoice))
    bound_refund = forms.get("refund_form")
    for payment in payments:
        payment.refund_open = bound_refund is not None and forms.get("refund_payment_id") == payment.pk
        if payment.refund_open:
            payment.refund_form = bound_refund
        elif payment.refundable > 0:
            payment.refund_form = refund_form(payment)
    attempts = list(payment_selectors.invoice_attempts(invoice=invoice).select_related("created_by"))
    live = next((a for a in attempts if a.is_live), None)
    open_panel = forms.get("open_panel", "")
    return {
        "attempts": attempts,
        "live_attempt": live,
        "payments": payments,
        # A refund is of a payment: without payments there is none to read.
        "refunds": list(payment_selectors.invoice_refunds(invoice=invoice)) if payments else [],
        "charge_methods": methods,
        **(
            action_form_context(request, invoice, open_panel, methods, forms)
            if open_panel in ACTION_FORMS
            else {}
        ),
        "collection_stop_reason": payment_selectors.invoice_collection_stop_reason(invoice=invoice),
        "retry_scheduled": invoice.next_charge_at and any(a.status == AttemptStatus.FAILED for a in attempts),
    }


def detail_context(request, invoice: Invoice, **forms) -> dict:
    lines = list(invoice.lines.all())
    return {
        "invoice": invoice,
        "lines": lines,
        "taxes": selectors.invoice_taxes(invoice=invoice, lines=lines),
        "events": selectors.invoice_events(invoice=invoice),
        # Every credit note adds its amount to amount_credited, which nothing lowers: none when it is 0.
        "credit_notes": invoice.credit_notes.order_by("created_at") if invoice.amount_credited else [],
        "memo_form": forms.get("memo_form") or MemoForm(initial={"memo": invoice.memo}),
        "open_panel": forms.get("open_panel", ""),
        **_payments_context(request, invoice, forms),
    }


def render_detail(request, invoice: Invoice, **forms):
    return render(request, "invoicing/invoice_detail.html", detail_context(request, invoice, **forms))
