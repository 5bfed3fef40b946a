"""Money on the invoice page: charging a saved method, refunding a payment, and the status line of a
charge in progress. The rules (amount due, live attempts, idempotency) live in payments.services;
these views parse, call and render."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core import money
from core.forms import apply_errors
from core.idempotency import ALREADY_SUBMITTED, replayed
from customers.selectors import customer_payment_methods
from dashboard.views.invoice_detail import charge_form, refund_form, render_detail
from invoicing import selectors
from partners.permissions import partner_view
from payments import selectors as payment_selectors
from payments.models import AttemptTrigger, RefundStatus
from payments.portal.services import pay_link_reissue
from payments.services import charge_invoice, refund_create


@require_POST
@partner_view()
def invoice_charge(request, invoice_id: int):
    """Charge one of the customer's saved methods now. The form's idempotency key was made when it was
    drawn, so a double-submitted form gets its first attempt back instead of charging again."""
    invoice = selectors.invoice_get(partner=request.partner, invoice_id=invoice_id)
    methods = list(customer_payment_methods(customer=invoice.customer))
    form = charge_form(request, invoice, methods, data=request.POST)
    if form.is_valid() and form.cleaned_data["amount_minor"] is not None:
        method = next(m for m in methods if m.pk == form.cleaned_data["payment_method"])
        try:
            attempt = charge_invoice(
                invoice=invoice,
                method=method,
                trigger=AttemptTrigger.MANUAL,
                actor=request.user,
                amount=form.cleaned_data["amount_minor"],
                idempotency_key=form.cleaned_data["idempotency_key"],
            )
        except ValidationError as error:
            if not hasattr(error, "error_dict"):  # about the invoice, not the form: paid, charge running
                messages.error(request, " ".join(error.messages))
                return redirect("invoice_detail", invoice_id=invoice.pk)
            apply_errors(form, error)
        else:
            amount = money.format_money(attempt.amount, attempt.currency)
            messages.info(
                request,
                ALREADY_SUBMITTED if replayed(attempt) else f"Charging {amount} to {attempt.method_label}.",
            )
            return redirect("invoice_detail", invoice_id=invoice.pk)
    return render_detail(request, invoice, charge_form=form, open_panel="charge")


@transaction.non_atomic_requests  # refund_create commits the refund row before calling the gateway
@require_POST
@partner_view()
def invoice_refund(request, invoice_id: int, payment_id: int):
    invoice = selectors.invoice_get(partner=request.partner, invoice_id=invoice_id)
    payment = payment_selectors.invoice_payment_get(invoice=invoice, payment_id=payment_id)
    form = refund_form(payment, data=request.POST)
    if form.is_valid() and form.cleaned_data["amount_minor"] is not None:
        try:
            refund = refund_create(
                payment=payment,
                amount=form.cleaned_data["amount_minor"],
                reason=form.cleaned_data["reason"],
                reduce_amount_owed=form.cleaned_data["reduce_amount_owed"],
                actor=request.user,
                idempotency_key=form.cleaned_data["idempotency_key"],
            )
        except ValidationError as error:
            if not hasattr(error, "error_dict"):
                messages.error(request, " ".join(error.messages))
                return redirect("invoice_detail", invoice_id=invoice.pk)
            apply_errors(form, error)
        else:
            amount = money.format_money(refund.amount, refund.currency)
            if replayed(refund):
                messages.info(request, ALREADY_SUBMITTED)
            elif refund.status == RefundStatus.SUCCEEDED:
                messages.success(request, f"Refunded {amount}.")
            elif refund.status == RefundStatus.FAILED:
                messages.error(request, f"The refund of {amount} failed: {refund.failure_message}")
            else:
                messages.info(
                    request, f"The refund of {amount} was sent; the payment processor has not answered yet."
                )
            return redirect("invoice_detail", invoice_id=invoice.pk)
    return render_detail(
        request, invoice, refund_form=form, refund_payment_id=payment.pk, open_panel=f"refund-{payment.pk}"
    )


@require_POST
@partner_view()
def invoice_pay_link_reissue(request, invoice_id: int):
    """A new pay link for the customer; every earlier one stops working. Only the token's hash is kept,
    so this message is the one time the link is shown (it travels in the messages cookie, not the DB)."""
    invoice = selectors.invoice_get(partner=request.partner, invoice_id=invoice_id)
    try:
        url = pay_link_reissue(invoice=invoice, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, f"New pay link (copy it now, it is shown only once; earlier links no longer work): {url}"
        )
    return redirect("invoice_detail", invoice_id=invoice.pk)


@partner_view()
def invoice_payment_status(request, invoice_id: int):
    """htmx polls this while a charge is in progress (every 2 s; 30 s for a bank debit); once it is
    over, the whole page reloads to show the outcome (paid, declined, amounts)."""
    invoice = selectors.invoice_get(partner=request.partner, invoice_id=invoice_id)
    live = payment_selectors.invoice_live_attempt(invoice=invoice)
    response = render(request, "invoicing/_payment_status.html", {"invoice": invoice, "live_attempt": live})
    if request.htmx and live is None:
        response["HX-Refresh"] = "true"
    return response
