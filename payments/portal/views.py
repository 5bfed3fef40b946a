"""The hosted invoice page. Public: the token in the URL is the credential, so there is no partner login
and PartnerMiddleware's scope does not apply; `pay_link_view` resolves the token and runs the view inside
the invoice's own partner scope and time zone. Every dead link (unknown, expired, revoked) gets the same
404 page, with a form that emails a fresh link to the customer's address on file and says nothing more."""

import re
from functools import wraps

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.http import content_disposition_header
from django.views.decorators.cache import cache_control
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRefresh
from django_scopes import scope

from core import money
from core.forms import apply_errors
from invoicing.models import InvoiceAction
from invoicing.pdf import brand_colours, invoice_pdf_get
from invoicing.selectors import invoice_taxes
from partners.ratelimit import client_ip, rate_limit_allows
from partners.tokens import token_hash
from payments.card_entry import allow_card_entry, card_entry_context
from payments.forms import SENSITIVE_FIELDS
from payments.models import AttemptStatus, PayLink
from payments.portal import selectors, services
from payments.portal.forms import PAY_NEW_FORMS, ConfirmPaymentForm, FreshLinkForm, LookupForm
from payments.selectors import invoice_live_attempt

RATE_SCOPE = "pay-link-request"
RATE_LIMITED = "Too many requests. Wait 15 minutes and try again."
NEW_METHODS_LIMITED = "Too many cards tried on this invoice. Nothing was charged. Wait an hour and try again."
HEX = re.compile(r"^[0-9a-fA-F]{6}$")


def private_response(response: HttpResponse) -> HttpResponse:
    """Pages reached by a secret URL: never stored by a browser or a proxy (Django's never_cache headers,
    as on every page that shows a secret), never indexed, and the URL never sent as a referrer to another
    site. (Not "no-referrer": browsers then send `Origin: null` on the page's own form posts, which
    Django's CSRF check rightly refuses.)"""
    add_never_cache_headers(response)
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def pay_link_view(view):
    @wraps(view)
    def wrapped(request, token: str, *args, **kwargs):
        resolved = selectors.pay_link_resolve(token=token)
        if not resolved.ok:
            if dead_token_limited(request):
                return private_response(too_many_requests(request))
            return private_response(_link_not_valid(request, token, resolved))
        link = resolved.link
        link.raw_token = token  # for this page's own URLs; never stored
        partner = link.invoice.partner
        request.payments_partner = partner  # whose processor (test mode or not) the page shows
        previous = timezone.get_current_timezone()
        timezone.activate(partner.zone)
        try:
            with scope(partner=partner):
                return private_response(view(request, link, *args, **kwargs))
        finally:
            timezone.activate(previous)

    return wrapped


def dead_token_limited(request) -> bool:
    """Counts, per client address, the unknown, expired or used tokens it presents (pay links and sign-in
    links alike) and says when it has presented too many. Tokens are unguessable (256 bits); this stops a
    client hammering the look-up, and only misses count, so a shared address never blocks a good link."""
    keys = [f"ip:{client_ip(request)}"]
    return not rate_limit_allows(scope="token-miss", keys=keys, rate=settings.TOKEN_MISS_RATE_LIMIT)


def too_many_requests(request) -> HttpResponse:
    return render(request, "payments/portal/too_many.html", status=429)


def _rate_limited(request, key: str) -> bool:
    keys = [f"ip:{client_ip(request)}", key]
    return not rate_limit_allows(scope=RATE_SCOPE, keys=keys, rate=settings.PAY_LINK_REQUEST_RATE_LIMIT)


def _card_testing(request, link: PayLink) -> bool:
    """Counts the new cards and bank accounts tried on the pay page, per link and per client address,
    before the processor sees them: someone testing stolen card numbers tries many, a customer a few.
    Every try counts, paid or declined: the outcome is known only later, in a worker, and a paid
    invoice needs no more tries."""
    keys = [f"ip:{client_ip(request)}", f"link:{link.pk}"]
    return not rate_limit_allows(scope="pay-new-method", keys=keys, rate=settings.PAY_NEW_METHOD_RATE_LIMIT)


def _link_not_valid(request, token: str, resolved) -> HttpResponse:
    """One page and one status for every dead link, whatever the reason and whatever is submitted."""
    if request.method != "POST":
        return render(request, "payments/portal/link_invalid.html", {"form": FreshLinkForm()}, status=404)
    form = FreshLinkForm(request.POST)
    sent = False
    if form.is_valid():
        if _rate_limited(request, f"link:{token_hash(token[: selectors.MAX_TOKEN_LENGTH])}"):
            form.add_error(None, RATE_LIMITED)
        else:
            services.pay_link_request_fresh(resolved=resolved, email=form.cleaned_data["email"])
            sent, form = True, FreshLinkForm()
    return render(request, "payments/portal/link_invalid.html", {"form": form, "sent": sent}, status=404)


@require_http_methods(["GET", "POST"])
def pay_lookup(request):
    """The address printed on PDFs (they never carry a token): invoice number + email -> a link by email."""
    form = LookupForm(request.POST or None, initial={"number": request.GET.get("invoice", "")[:40]})
    sent = False
    if request.method == "POST" and form.is_valid():
        if _rate_limited(request, f"email:{form.cleaned_data['email'].lower()}"):
            form.add_error(None, RATE_LIMITED)
        else:
            services.pay_link_request_by_number(
                number=form.cleaned_data["number"], email=form.cleaned_data["email"]
            )
            sent, form = True, LookupForm()
    return private_response(render(request, "payments/portal/lookup.html", {"form": form, "sent": sent}))


@cache_control(public=True, max_age=31536000, immutable=True)
def brand_stylesheet(request, colour: str):
    """The partner's colour as CSS custom properties (the CSP forbids style=""). Keyed by the colour
    itself, so it holds no partner data, needs no query and is cached for a year."""
    if not HEX.match(colour):
        raise Http404
    brand = brand_colours(f"#{colour.lower()}")
    accent, ink, on_brand = brand["accent"], brand["ink"], _text_on(brand["accent"])
    # .portal, loaded after app.css: it overrides the defaults app.css gives the same selector.
    css = f".portal{{--brand:{accent};--brand-ink:{ink};--on-brand:{on_brand}}}\n"
    return HttpResponse(css, content_type="text/css")


def _text_on(colour: str) -> str:
    """White or near-black text on the brand colour, whichever has the higher WCAG contrast."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(int(colour[i : i + 2], 16)) for i in (1, 3, 5))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    on_white = 1.05 / (luminance + 0.05)
    on_dark = (luminance + 0.05) / (0.0124 + 0.05)  # #1b1f24
    return "#ffffff" if on_white >= on_dark else "#1b1f24"


def _pay_new_form(invoice, kind: str | None, data=None):
    """The one-form payment with a new card (or, with ?kind=bank_account, a bank account); its key is
    made when the page is drawn, so submitting the same page twice charges once."""
    kind = kind if kind in PAY_NEW_FORMS else "card"
    return PAY_NEW_FORMS[kind](data, today=invoice.partner.today())


def _page_context(link: PayLink, **extra) -> dict:
    invoice = link.invoice
    payable = selectors.invoice_is_payable(invoice)
    new_form = extra.get("new_form")
    if payable and new_form is not None and new_form.kind == "card":
        try:
            extra.update(card_entry_context(customer=invoice.customer))
        except ValidationError as error:  # the processor is not answering: say so where the card goes
            new_form.add_error(None, error.messages)
    lines = list(invoice.lines.all())
    return {
        "invoice": invoice,
        "partner": invoice.partner,
        "brand_colour": invoice.partner.brand_colour.lstrip("#"),
        "seller": invoice.seller,
        "buyer": invoice.buyer,
        "lines": lines,
        "taxes": invoice_taxes(invoice=invoice, lines=lines),
        "token": link.raw_token,
        "payable": payable,
        "live_attempt": invoice_live_attempt(invoice=invoice) if payable else None,
        "method": selectors.method_offered(invoice) if payable else None,
        "amount_due": money.format_money(invoice.amount_due, invoice.currency),
        "other_invoices": [
            (other, money.format_money(other.amount_due, other.currency))
            for other in selectors.other_open_invoices(invoice=invoice)
        ],
        **extra,
    }


@transaction.non_atomic_requests  # a read, but for the hourly "viewed" line (its own transaction)
@pay_link_view
@require_GET
def pay_page(request, link: PayLink):
    services.pay_link_record_view(link=link)
    new_form = _pay_new_form(link.invoice, request.GET.get("kind"))
    context = _page_context(link, new_form=new_form)
    return allow_card_entry(render(request, "payments/portal/invoice.html", context), context)


@sensitive_post_parameters(*SENSITIVE_FIELDS)
@pay_link_view
@require_http_methods(["POST"])
def pay_new(request, link: PayLink):
    """Pay with a card or bank account typed on the invoice page, in one submit. Errors come back on the
    same page next to their fields, with what was typed kept (except the numbers, which never are)."""
    invoice = link.invoice
    form = _pay_new_form(invoice, request.POST.get("kind"), request.POST)
    if form.is_valid():
        key = form.cleaned_data["idempotency_key"]
        if selectors.customer_attempt(invoice=invoice, key=key):
            return _to_result(link, key)  # a double click or a resubmit: show the first one's outcome
        if not selectors.invoice_is_payable(invoice):
            form.add_error(None, _not_payable_message(invoice))
        elif _card_testing(request, link):
            form.add_error(None, NEW_METHODS_LIMITED)
            return render(
                request, "payments/portal/invoice.html", _page_context(link, new_form=form), status=429
            )
        else:
            try:
                services.pay_with_new_method(
                    invoice=invoice,
                    **form.method_input(),
                    save=form.cleaned_data["save_method"],
                    autopay=form.cleaned_data["autopay"],
                    idempotency_key=key,
                )
            except ValidationError as error:
                field = "method_reference" if form.kind == "card" else "account_number"
                apply_errors(form, error, {"payment_method": field})
            else:
                return _to_result(link, key)
    context = _page_context(link, new_form=form)
    return allow_card_entry(render(request, "payments/portal/invoice.html", context, status=400), context)


@pay_link_view
@require_GET
def pay_pdf(request, link: PayLink):
    invoice = link.invoice
    response = HttpResponse(invoice_pdf_get(invoice=invoice), content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"{invoice.number}.pdf"
    )
    return response


@pay_link_view
@require_http_methods(["GET", "POST"])
def pay_confirm(request, link: PayLink):
    """Click 1 lands here (GET draws the confirm step with a fresh idempotency key); click 2 posts it."""
    invoice = link.invoice
    page = reverse("pay_page", kwargs={"token": link.raw_token})
    if request.method == "GET":
        method = selectors.method_offered(invoice)
        if (
            not selectors.invoice_is_payable(invoice)
            or method is None
            or invoice_live_attempt(invoice=invoice)
        ):
            return redirect(page)
        form = ConfirmPaymentForm(initial={"method": method.pk})
        return render(request, "payments/portal/confirm.html", _page_context(link, form=form, method=method))
    form = ConfirmPaymentForm(request.POST)
    error = None
    if not form.is_valid():
        error = " ".join(e for errors in form.errors.values() for e in errors)
    else:
        key = form.cleaned_data["idempotency_key"]
        if selectors.customer_attempt(invoice=invoice, key=key):
            return _to_result(link, key)  # a double click or a resubmit: show the first one's outcome
        if not selectors.invoice_is_payable(invoice):
            error = _not_payable_message(invoice)
        else:
            try:
                services.pay_with_saved_method(
                    invoice=invoice, method_id=form.cleaned_data["method"], idempotency_key=key
                )
            except ValidationError as exc:
                error = " ".join(exc.messages)
            else:
                return _to_result(link, key)
    context = _page_context(link, error=error, method=None)
    return render(request, "payments/portal/confirm.html", context, status=409 if form.is_valid() else 400)


def _not_payable_message(invoice) -> str:
    return f"{invoice.refusal(InvoiceAction.PAY)} Nothing was charged."


def _to_result(link: PayLink, key: str):
    return redirect(f"{reverse('pay_result', kwargs={'token': link.raw_token})}?attempt={key}")


@pay_link_view
@require_GET
def pay_result(request, link: PayLink):
    """Paid, processing or declined. While the processor has not answered, htmx asks again (every 2 s,
    every 30 s for a bank debit, which settles in days) and swaps in the outcome."""
    invoice = link.invoice
    attempt = selectors.customer_attempt(invoice=invoice, key=request.GET.get("attempt", "")[:100])
    if attempt is None:
        return redirect("pay_page", token=link.raw_token)
    if attempt.status == AttemptStatus.FAILED:
        return _declined_page(request, link, attempt)
    waiting = attempt.status in (AttemptStatus.PENDING, AttemptStatus.UNKNOWN)
    context = _page_context(
        link,
        attempt=attempt,
        waiting=waiting,
        poll_seconds=30 if attempt.status == AttemptStatus.PROCESSING else 2,
        attempt_amount=money.format_money(attempt.amount, attempt.currency),
        poll_url=request.get_full_path(),
    )
    template = "payments/portal/_result.html" if request.htmx else "payments/portal/result.html"
    return render(request, template, context)


def _declined_page(request, link: PayLink, attempt):
    """A decline is not a dead end: the pay page is drawn again (a fresh key, the saved method still
    offered) with the decline above it, so another card or method is one step away. A poll that learns
    of the decline reloads the whole page, since the swapped-in part holds no form."""
    if request.htmx:
        return HttpResponseClientRefresh()
    new_form = _pay_new_form(link.invoice, request.GET.get("kind"))
    context = _page_context(link, new_form=new_form, declined=attempt)
    return allow_card_entry(render(request, "payments/portal/invoice.html", context), context)


@pay_link_view
@require_POST
def pay_other(request, link: PayLink, invoice_id: int):
    """One of the customer's other open invoices, listed on this pay page: its own pay page, by a link
    that ends no later than this one. Saved methods, billing details and Auto-Pay stay behind the
    emailed portal sign-in, since pay links get forwarded."""
    token = services.pay_link_for_other_invoice(link=link, invoice_id=invoice_id)
    return redirect("pay_page", token=token)
