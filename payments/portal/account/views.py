"""The customer account portal at /pay/<partner slug>/account/: sign in by emailed link, see and pay
invoices, manage saved methods and Auto-Pay, update billing details.

A signed-in customer is kept in the session under `portal` as {partner id: (customer id, until)}, never as
a django.contrib.auth login: partner users and customers are different people, and a customer signed in at
two partners holds two separate entries. Every view runs inside the URL's partner scope and time zone, and
reads only the signed-in customer's rows (selectors that take the customer)."""

import copy
import time
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_scopes import scope

from core import money
from core.params import parse_id
from customers.selectors import customer_payment_methods
from customers.services import customer_update
from invoicing.pdf import invoice_pdf_get
from partners.ratelimit import client_ip, rate_limit_allows
from payments import services as payment_services
from payments.card_entry import allow_card_entry, card_entry_context
from payments.forms import METHOD_FORMS, SENSITIVE_FIELDS
from payments.models import AttemptStatus
from payments.portal.account import selectors, services
from payments.portal.account.forms import BillingDetailsForm, PayInvoicesForm
from payments.portal.forms import FreshLinkForm
from payments.portal.views import RATE_LIMITED, dead_token_limited, private_response, too_many_requests
from payments.selectors import payment_method_get

SESSION_KEY = "portal"
RATE_SCOPE = "portal-sign-in"


# The customer's session ----------------------------------------------------------------------------


def session_customer(request, partner):
    entry = request.session.get(SESSION_KEY, {}).get(str(partner.pk))
    if not entry or entry["until"] < time.time():
        return None
    return selectors.portal_customer_get(partner=partner, customer_id=entry["customer_id"])


def session_sign_in(request, partner, customer) -> None:
    request.session.cycle_key()  # a session id known before signing in is worth nothing after
    entries = dict(request.session.get(SESSION_KEY, {}))
    until = time.time() + settings.PORTAL_SESSION_HOURS * 3600
    entries[str(partner.pk)] = {"customer_id": customer.pk, "until": until}
    request.session[SESSION_KEY] = entries


def session_sign_out(request, partner) -> None:
    entries = dict(request.session.get(SESSION_KEY, {}))
    entries.pop(str(partner.pk), None)
    request.session[SESSION_KEY] = entries


def portal_view(*, signed_in: bool = True):
    """Resolve the URL's partner (404 if none), run the view in its scope and time zone, and hand it the
    signed-in customer; pages that need one send everyone else to the sign-in page."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, partner_slug: str, *args, **kwargs):
            partner = selectors.portal_partner_get(slug=partner_slug)
            request.payments_partner = partner  # whose processor (test mode or not) the page shows
            previous = timezone.get_current_timezone()
            timezone.activate(partner.zone)
            try:
                with scope(partner=partner):
                    customer = session_customer(request, partner)
                    if signed_in and customer is None:
                        response = redirect("portal_sign_in", partner_slug=partner.slug)
                    else:
                        response = view(request, partner, customer, *args, **kwargs)
            finally:
                timezone.activate(previous)
            return private_response(response)

        return wrapped

    return decorator


def _render(request, template, partner, customer, status=200, **context):
    base = {"partner": partner, "customer": customer, "brand_colour": partner.brand_colour.lstrip("#")}
    return render(request, f"payments/portal/account/{template}", base | context, status=status)


# Signing in ------------------------------------------------------------------------------------------


def _rate_limited(request, partner, email: str) -> bool:
    keys = [f"ip:{client_ip(request)}", f"email:{partner.pk}:{email.lower()}"]
    return not rate_limit_allows(scope=RATE_SCOPE, keys=keys, rate=settings.PORTAL_SIGN_IN_RATE_LIMIT)


@require_http_methods(["GET", "POST"])
@portal_view(signed_in=False)
def sign_in(request, partner, customer):
    """The same answer whether or not the address has an account here; a worker looks it up and emails."""
    if customer is not None and request.method == "GET":
        return redirect("portal_invoices", partner_slug=partner.slug)
    form = FreshLinkForm(request.POST or None)
    sent = False
    if request.method == "POST" and form.is_valid():
        if _rate_limited(request, partner, form.cleaned_data["email"]):
            form.add_error(None, RATE_LIMITED)
        else:
            services.portal_sign_in_request(partner=partner, email=form.cleaned_data["email"])
            sent, form = True, FreshLinkForm()
    context = {"form": form, "sent": sent, "minutes": settings.PORTAL_SIGN_IN_LINK_MINUTES}
    return _render(request, "sign_in.html", partner, None, **context)


@require_http_methods(["GET", "POST"])
@portal_view(signed_in=False)
def sign_in_link(request, partner, customer, token: str):
    """GET only shows a button: mail scanners that open links must not use up a single-use link."""
    if request.method == "GET":
        return _render(request, "sign_in_link.html", partner, None, token=token)
    signed_in = services.portal_sign_in_redeem(partner=partner, token=token)
    if signed_in is None and dead_token_limited(request):
        return too_many_requests(request)
    if signed_in is None:
        context = {
            "form": FreshLinkForm(),
            "link_failed": True,
            "minutes": settings.PORTAL_SIGN_IN_LINK_MINUTES,
        }
        return _render(request, "sign_in.html", partner, None, status=404, **context)
    session_sign_in(request, partner, signed_in)
    return redirect("portal_invoices", partner_slug=partner.slug)


@require_POST
@portal_view(signed_in=False)
def sign_out(request, partner, customer):
    session_sign_out(request, partner)
    messages.success(request, "You are signed out.")
    return redirect("portal_sign_in", partner_slug=partner.slug)


# Invoices and paying them ----------------------------------------------------------------------------


def _pay_forms(customer, methods, data=None, bound_currency=None):
    """One form per currency: invoices in different currencies are never added up or paid together."""
    today = customer.partner.today()
    forms = []
    for currency, invoices in selectors.open_invoices_by_currency(customer=customer).items():
        bound = data if currency == bound_currency else None
        initial = {"currency": currency}
        initial["invoices"] = [invoice.pk for invoice in invoices]
        form = PayInvoicesForm(
            bound,
            initial=initial,
            invoices=invoices,
            methods=methods,
            today=today,
            auto_id=f"pay_{currency}_%s",  # one form per currency on the page: ids stay unique
        )
        form.group_currency = currency
        form.rows = [(invoice, money.format_money(invoice.amount_due, currency)) for invoice in invoices]
        form.total = money.format_money(sum(invoice.amount_due for invoice in invoices), currency)
        forms.append(form)
    return forms


@require_GET
@portal_view()
def invoices(request, partner, customer):
    return _invoices_page(request, partner, customer)


def _invoices_page(request, partner, customer, forms=None, status=200):
    methods = customer_payment_methods(customer=customer)
    context = {
        "pay_forms": forms if forms is not None else _pay_forms(customer, methods),
        "past": selectors.past_invoices(customer=customer),
        "methods": methods,
    }
    return _render(request, "invoices.html", partner, customer, status=status, **context)


@require_POST
@portal_view()
def pay(request, partner, customer):
    """Pay the ticked invoices of one currency group: one charge each, keyed from the form's key."""
    if _already_submitted(customer, request.POST):
        return _to_payments(partner, request.POST["idempotency_key"], request.POST.getlist("invoices"))
    methods = customer_payment_methods(customer=customer)
    forms = _pay_forms(customer, methods, request.POST, request.POST.get("currency"))
    form = next((f for f in forms if f.is_bound), None)
    if form is not None and form.is_valid():
        cleaned = form.cleaned_data
        chosen = selectors.customer_open_invoices(
            customer=customer, invoice_ids=cleaned["invoices"], currency=cleaned["currency"]
        )
        method = payment_method_get(customer=customer, payment_method_id=cleaned["method"])
        try:
            services.portal_pay_invoices(
                customer=customer, invoices=chosen, method=method, form_key=cleaned["idempotency_key"]
            )
        except ValidationError as error:
            form.add_error("method", error)
        else:
            return _to_payments(partner, cleaned["idempotency_key"], cleaned["invoices"])
    if form is None:  # a stale page: that currency has nothing left to pay
        messages.info(request, "Those invoices have nothing left to pay.")
        return redirect("portal_invoices", partner_slug=partner.slug)
    return _invoices_page(request, partner, customer, forms=forms, status=400)


def _ids(values) -> list[int]:
    """The invoice ids in a hand-editable list; anything that is not an id is dropped."""
    return [invoice_id for invoice_id in map(parse_id, values) if invoice_id is not None][:100]


def _already_submitted(customer, data) -> bool:
    """The same form posted again (double click, Back and resubmit): its invoices' attempts exist."""
    keys = [services.invoice_key(data.get("idempotency_key", ""), i) for i in _ids(data.getlist("invoices"))]
    return bool(keys) and bool(selectors.customer_attempts(customer=customer, keys=keys))


def _to_payments(partner, form_key: str, invoice_ids):
    url = reverse("portal_payments", kwargs={"partner_slug": partner.slug})
    ids = ",".join(str(invoice_id) for invoice_id in _ids(invoice_ids))
    return redirect(f"{url}?key={form_key[:32]}&invoices={ids}")


@require_GET
@portal_view()
def payments(request, partner, customer):
    """The outcome of each charge the pay form started; htmx asks again while any is unknown."""
    form_key = request.GET.get("key", "")[:32]
    ids = _ids(request.GET.get("invoices", "").split(","))
    attempts = selectors.customer_attempts(
        customer=customer, keys=[services.invoice_key(form_key, i) for i in ids]
    )
    waiting = any(a.status in (AttemptStatus.PENDING, AttemptStatus.UNKNOWN) for a in attempts)
    rows = [(a, money.format_money(a.amount, a.currency)) for a in attempts]
    template = "_payments.html" if request.htmx else "payments.html"
    context = {"rows": rows, "waiting": waiting, "poll_url": request.get_full_path()}
    return _render(request, template, partner, customer, **context)


@require_GET
@portal_view()
def invoice_pdf(request, partner, customer, invoice_id: int):
    invoice = selectors.customer_invoice_get(customer=customer, invoice_id=invoice_id)
    response = HttpResponse(invoice_pdf_get(invoice=invoice), content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"{invoice.number}.pdf"
    )
    return response


# Payment methods and Auto-Pay ------------------------------------------------------------------------


@sensitive_post_parameters(*SENSITIVE_FIELDS)
@require_http_methods(["GET", "POST"])
@portal_view()
def methods(request, partner, customer):
    """Saved methods with Set default / Remove, Auto-Pay, and a form to add a card or bank account."""
    kind = request.POST.get("kind") or request.GET.get("kind")
    kind = kind if kind in METHOD_FORMS else "card"
    form = METHOD_FORMS[kind](request.POST or None, today=partner.today())
    if request.method == "POST" and form.is_valid():
        try:
            method = payment_services.payment_method_new(
                customer=customer, **form.method_input(), make_default=form.cleaned_data["make_default"]
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"{method} saved.")
            return redirect("portal_methods", partner_slug=partner.slug)
    context = {"form": form, "kind": kind, "methods": customer_payment_methods(customer=customer)}
    if kind == "card":
        try:
            context |= card_entry_context(customer=customer)
        except ValidationError as error:  # the processor is not answering
            form.add_error(None, error.messages)
    status = 400 if form.is_bound else 200
    return allow_card_entry(
        _render(request, "methods.html", partner, customer, status=status, **context), context
    )


@require_POST
@portal_view()
def method_default(request, partner, customer, payment_method_id: int):
    method = payment_method_get(customer=customer, payment_method_id=payment_method_id)
    payment_services.payment_method_set_default(method=method)
    messages.success(request, f"{method} is now your default payment method.")
    return redirect("portal_methods", partner_slug=partner.slug)


@require_POST
@portal_view()
def method_remove(request, partner, customer, payment_method_id: int):
    method = payment_method_get(customer=customer, payment_method_id=payment_method_id)
    had_autopay = customer.autopay
    payment_services.payment_method_remove(method=method)
    customer.refresh_from_db(fields=["autopay"])
    note = (
        " Auto-Pay is off: there is no payment method left." if had_autopay and not customer.autopay else ""
    )
    messages.success(request, f"{method} removed.{note}")
    return redirect("portal_methods", partner_slug=partner.slug)


@require_POST
@portal_view()
def autopay(request, partner, customer):
    enabled = request.POST.get("enabled") == "1"
    try:
        payment_services.customer_set_autopay(customer=customer, enabled=enabled)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            "Auto-Pay is on: each invoice is charged to your default payment method on its due date."
            if enabled
            else "Auto-Pay is off.",
        )
    return redirect("portal_methods", partner_slug=partner.slug)


# Billing details -------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@portal_view()
def details(request, partner, customer):
    # What was typed goes onto a copy, so a refused change leaves the page showing what is saved.
    form = BillingDetailsForm(request.POST or None, instance=copy.copy(customer))
    if request.method == "POST" and form.is_valid():
        try:
            customer_update(customer=form.instance, data=form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Your billing details are saved.")
            return redirect("portal_details", partner_slug=partner.slug)
    status = 400 if form.is_bound else 200
    return _render(request, "details.html", partner, customer, status=status, form=form)
