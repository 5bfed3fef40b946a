"""Invoice pages: the list, "Create invoice", the detail page and its actions. Views parse, call a
service and render; the rules live in invoicing.services."""

import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.forms.utils import ErrorDict
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from core import money
from core.forms import apply_errors
from core.idempotency import ALREADY_SUBMITTED, replayed
from core.params import parse_id
from customers.models import Customer
from customers.selectors import customer_get, customer_list, customer_payment_methods
from customers.services import customer_create
from dashboard.views.invoice_detail import ACTION_FORMS, action_form_context, pay_link_message, render_detail
from invoicing import selectors, services
from invoicing.forms import (
    PAYMENT_OPTION_HELP,
    CreditNoteForm,
    InvoiceForm,
    MemoForm,
    add_blank_line,
    default_due_date,
    default_payment_option,
    lines_as_typed,
)
from invoicing.models import Invoice, InvoiceAction, PaymentOption
from invoicing.services import InvoiceInput, LineInput
from partners.models import Role
from partners.permissions import partner_view
from payments.forms import OfflinePaymentForm
from payments.services import payment_record_offline
from reminders.schedule import creation_email, emails_planned
from reminders.selectors import bounced_emails, notification_settings

CUSTOMER_RESULTS = 8


# The list ---------------------------------------------------------------------------------------


def _parse_date(value: str | None) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(value) if value else None
    except ValueError:
        return None


DATE_PARAMS = ("due_from", "due_to", "paid_from", "paid_to")
SORT_CHOICES = [(key, label) for key, (label, _, _) in selectors.SORTS.items()]
CURRENCY_CHOICES = [("", "All"), *((code, code) for code in sorted(money.CURRENCY_EXPONENTS))]


def list_filters(params, *, partner) -> selectors.InvoiceFilters:
    """The list's filters from its query string; the CSV exports read the same ones. Anything unreadable
    is ignored (the page says so for dates) rather than refused."""
    currency = params.get("currency", "").upper()
    bounced = params.get("bounced") == "1"
    return selectors.InvoiceFilters(
        tab=params.get("tab") if params.get("tab") in selectors.TABS else "all",
        query=params.get("q", "")[:100],
        customer_id=parse_id(params.get("customer")),
        due_from=_parse_date(params.get("due_from")),
        due_to=_parse_date(params.get("due_to")),
        sort=params.get("sort") if params.get("sort") in selectors.SORTS else "-created",
        currency=currency if currency in money.CURRENCY_EXPONENTS else "",
        paid_from=_parse_date(params.get("paid_from")),
        paid_to=_parse_date(params.get("paid_to")),
        bounced=bounced,
        within=bounced_emails(partner=partner).values("invoice_id") if bounced else None,
    )


def _tab_links(filters: selectors.InvoiceFilters) -> list[dict]:
    """The status tabs; switching tab keeps the search and the currency."""
    kept = {key: value for key, value in (("q", filters.query), ("currency", filters.currency)) if value}
    return [
        {
            "label": selectors.TAB_LABELS.get(tab, tab.capitalize()),
            "query": urlencode({"tab": tab, **kept}),
            "current": tab == filters.tab,
        }
        for tab in selectors.TABS
    ]


# Reads only, so no transaction: ATOMIC_REQUESTS would add a BEGIN and a COMMIT round trip to the
# busiest page. The page and its count may then see different snapshots, which a list can live with.
@transaction.non_atomic_requests
@partner_view()
def invoice_list(request):
    params = request.GET
    filters = list_filters(params, partner=request.partner)
    page = selectors.invoice_page(
        partner=request.partner, filters=filters, cursor=params.get("cursor", "")[:300]
    )
    context = {
        "page": page,
        "tabs": _tab_links(filters),
        "sort_choices": SORT_CHOICES,
        "filter_customer": _customer_or_none(request, filters.customer_id),
        "bad_dates": any(params.get(k) and not _parse_date(params.get(k)) for k in DATE_PARAMS),
        "currency_choices": CURRENCY_CHOICES,
        "export_query": urlencode(filters.as_params()),
    }
    template = (
        "invoicing/_invoice_results.html"
        if request.htmx and request.htmx.target == "invoice-results"
        else "invoicing/invoice_list.html"
    )
    return render(request, template, context)


# Create and edit --------------------------------------------------------------------------------


def _initial(partner, invoice: Invoice | None = None) -> dict:
    if invoice is None:
        return {
            "due_date": default_due_date(partner),
            "currency": partner.default_currency,
            "memo": partner.default_memo,
            "footer": partner.default_footer,
            "payment_option": PaymentOption.CHARGE_LATER,
        }
    return {
        "customer": invoice.customer_id,
        "due_date": invoice.due_date,
        "currency": invoice.currency,
        "memo": invoice.memo,
        "footer": invoice.footer,
        "payment_option": invoice.payment_option,
        "payment_method": invoice.payment_method_id,
    }


def _customer_or_none(request, customer_id: int | None) -> Customer | None:
    if customer_id is None:
        return None
    try:
        return customer_get(partner=request.partner, customer_id=customer_id)
    except Http404:
        return None


def _selected_customer(request, form: InvoiceForm) -> Customer | None:
    raw = form.data.get("customer") if form.is_bound else form.initial.get("customer")
    return _customer_or_none(request, parse_id(raw))


def _form_context(request, form: InvoiceForm, *, invoice: Invoice | None = None):
    customer = _selected_customer(request, form)
    query = (form.data.get("customer_query") if form.is_bound else "") or ""
    return {
        "form": form,
        "invoice": invoice,
        "customer": customer,
        "customer_results": customer_list(partner=request.partner, query=query)[:CUSTOMER_RESULTS]
        if query.strip() and not customer
        else [],
        "customer_methods": _methods(customer),
        "option_help": PAYMENT_OPTION_HELP,
        "planned_emails": _planned_emails(request.partner, customer),
        "payment_option_default": (
            form.data.get("payment_option_default") if form.is_bound else form.initial.get("payment_option")
        )
        or PaymentOption.CHARGE_LATER,
        "totals": _preview_totals(form, request.partner),
        "preview": _live_preview(request, form, customer),
    }


def _planned_emails(partner, customer: Customer | None) -> dict[str, str]:
    """Per payment option, what creating the invoice will email and when (shown before the click)."""
    prefs = notification_settings(partner=partner)
    return {
        option: emails_planned(payment_option=option, prefs=prefs, customer=customer)
        for option in PaymentOption.values
    }


def _methods(customer: Customer | None):
    if customer is None:
        return []
    return list(customer_payment_methods(customer=customer))


def _preview_totals(form: InvoiceForm, partner) -> dict:
    """Subtotal, taxes and total of what is typed so far, by the parsing and the totals function that
    saved invoices use. A row that can't be read yet is left out (its error shows on submit)."""
    currency = form.lines.form_kwargs["currency"]
    amounts = form.lines.priced()
    if not amounts:
        try:
            price = money.parse_amount(
                (form.data if form.is_bound else form.initial).get("amount") or "", currency
            )
        except money.MoneyError:
            pass
        else:
            amounts = [money.line_amounts(quantity=1, unit_price=price, tax_rate=0)]
    totals = money.invoice_totals(amounts)
    return {"currency": currency, "figures": totals}


def _typed_rows(form: InvoiceForm, figures: money.Totals) -> list[dict]:
    """What the live preview lists: each line that can be priced as typed, or the plain amount as one
    line described by the memo's first line, as Create invoice would make it."""
    rows = [
        {"description": line["description"].value() or "", "quantity": line["quantity"].value() or "1",
         "tax_rate": line["tax_rate"].value() or "", "amounts": priced}
        for line in form.lines.forms
        if not line.is_blank and (priced := line.priced()) is not None
    ]  # fmt: skip
    if rows or not figures.total:
        return rows
    data = form.data if form.is_bound else form.initial
    memo = (data.get("memo") or "").strip()
    description = memo.splitlines()[0][:200] if memo else "Invoice amount"
    amounts = money.line_amounts(quantity=1, unit_price=figures.subtotal, tax_rate=0)
    return [{"description": description, "quantity": "1", "tax_rate": "", "amounts": amounts}]


def _live_preview(request, form: InvoiceForm, customer: Customer | None) -> dict:
    """The invoice as the customer will see it, and what the chosen payment option will email."""
    partner = request.partner
    totals = _preview_totals(form, partner)
    data = form.data if form.is_bound else form.initial
    option = data.get("payment_option") or PaymentOption.CHARGE_LATER
    if option not in PaymentOption.values:
        option = PaymentOption.CHARGE_LATER
    prefs = notification_settings(partner=partner)
    return {
        "currency": totals["currency"],
        "rows": _typed_rows(form, totals["figures"]),
        "totals": totals["figures"],
        "due_date": due if isinstance(due := data.get("due_date"), datetime.date) else _parse_date(due),
        "memo": data.get("memo") or "",
        "footer": data.get("footer") or "",
        "option_label": PaymentOption(option).label,
        "emails": emails_planned(payment_option=option, prefs=prefs, customer=customer),
        "emails_now": creation_email(payment_option=option, prefs=prefs, customer=customer),
    }


def form_customer(request, form: InvoiceForm) -> Customer:
    """The chosen customer, or the new one entered inline (created now). Also used by recurring payments."""
    cleaned = form.cleaned_data
    if cleaned.get("customer"):
        try:
            return customer_get(partner=request.partner, customer_id=cleaned["customer"])
        except Http404:
            raise ValidationError({"customer": "Choose a customer."}) from None
    try:
        return customer_create(
            partner=request.partner,
            data={
                "name": cleaned["new_customer_name"],
                "company": cleaned.get("new_customer_company", ""),
                "email": cleaned["new_customer_email"],
            },
        )
    except ValidationError as error:
        raise ValidationError(
            {f"new_customer_{name}": messages_ for name, messages_ in error.message_dict.items()}
        ) from None


def form_lines(cleaned: dict) -> list[LineInput]:
    """The itemized lines, or one line for a plain amount (described by the memo's first line)."""
    if cleaned["lines"]:
        return [LineInput(**line) for line in cleaned["lines"]]
    if cleaned["amount_minor"]:
        description = (cleaned.get("memo") or "").strip().splitlines()[0][:200] if cleaned.get("memo") else ""
        return [
            LineInput(
                description=description or "Invoice amount", quantity=1, unit_price=cleaned["amount_minor"]
            )
        ]
    return []


def _invoice_input(request, form: InvoiceForm) -> InvoiceInput:
    """Turn a valid form into the service's input, creating an inline new customer if one was entered."""
    cleaned = form.cleaned_data
    customer = form_customer(request, form)
    method = None
    if cleaned.get("payment_method"):
        method = customer_payment_methods(customer=customer).filter(pk=cleaned["payment_method"]).first()
    return InvoiceInput(
        customer=customer,
        due_date=cleaned["due_date"],
        currency=cleaned["currency"],
        lines=form_lines(cleaned),
        payment_option=PaymentOption(cleaned["payment_option"]),
        payment_method=method,
        memo=cleaned.get("memo", ""),
        footer=cleaned.get("footer", ""),
    )


FIELD_FOR_SERVICE_ERROR = {"customer": "customer_query", "amount": "amount"}


def _save(request, form: InvoiceForm, invoice: Invoice | None) -> Invoice | None:
    finalize = request.POST.get("action") != "draft"
    try:
        with transaction.atomic():
            data = _invoice_input(request, form)
            if invoice is None:
                saved = services.invoice_create(
                    partner=request.partner, data=data, created_by=request.user, finalize=finalize
                )
            else:
                invoice = services.invoice_update_draft(invoice=invoice, data=data, actor=request.user)
                saved = (
                    services.invoice_finalize(invoice=invoice, actor=request.user) if finalize else invoice
                )
            return saved
    except ValidationError as error:
        apply_errors(form, error, FIELD_FOR_SERVICE_ERROR)
        return None


def _follow_default_option(request, data) -> None:
    """The default payment option follows the chosen customer (Charge on due date with Auto-Pay on) until
    the person picks an option: `payment_option_default` is the option the page pre-selected, so a
    different submitted option was chosen by hand and is kept."""
    customer = _customer_or_none(request, parse_id(data.get("customer")))
    default = default_payment_option(customer)
    shown_default = data.get("payment_option_default") or PaymentOption.CHARGE_LATER
    if data.get("payment_option", "") in ("", shown_default):
        data["payment_option"] = default
    data["payment_option_default"] = default


def _parse_only(form: InvoiceForm) -> None:
    """Read what was typed (lines included) without showing errors: a search is not a submission."""
    form.is_valid()
    form._errors = ErrorDict()


def _form_page(request, invoice: Invoice | None):
    data = request.POST.copy() if request.method == "POST" else None
    action = data.get("action") if data else None
    if action == "change_customer":
        data["customer"] = ""
    initial = _initial(request.partner, invoice)
    if invoice is None and parse_id(request.GET.get("customer")):
        initial["customer"] = parse_id(request.GET.get("customer"))  # "Create invoice" from a customer page
        customer = _customer_or_none(request, initial["customer"])
        initial["payment_option"] = default_payment_option(customer)
    if invoice is None and data is not None and action not in ("draft", "create"):
        _follow_default_option(request, data)  # "Search", "Change customer", "Add line" re-render the page
    if action == "add_line":
        add_blank_line(data)
    lines = lines_as_typed(invoice.lines.all(), invoice.currency) if invoice and data is None else None
    form = InvoiceForm(data, partner=request.partner, initial=initial, lines=lines)
    if action in ("draft", "create"):
        if form.is_valid():
            saved = _save(request, form, invoice)
            if saved is not None:
                verb = "saved as a draft" if saved.is_draft else "created"
                messages.success(request, f"Invoice {saved.display_number} {verb}.")
                pay_link_message(request, getattr(saved, "fresh_pay_url", None))
                return redirect("invoice_detail", invoice_id=saved.pk)
    elif form.is_bound:
        _parse_only(form)  # "Search" or "Change customer" without JavaScript
    return render(request, "invoicing/invoice_form.html", _form_context(request, form, invoice=invoice))


@partner_view()
def invoice_create(request):
    return _form_page(request, None)


@partner_view()
def invoice_edit(request, invoice_id: int):
    invoice = selectors.invoice_get(partner=request.partner, invoice_id=invoice_id)
    if refusal := invoice.refusal(InvoiceAction.EDIT):
        messages.error(request, refusal)
        return redirect("invoice_detail", invoice_id=invoice.pk)
    return _form_page(request, invoice)


@partner_view()
def invoice_form_preview(request):
    """htmx: the customer picker, payment methods and totals, recomputed from what is typed so far."""
    data = request.GET.copy() if request.GET else None
    if data is not None and request.GET.get("part") == "customer":
        _follow_default_option(request, data)
    form = InvoiceForm(data, partner=request.partner, initial=_initial(request.partner))
    if form.is_bound:
        _parse_only(form)
    part = request.GET.get("part", "totals")
    templates = {
        "totals": "invoicing/_invoice_totals.html",
        "customer": "invoicing/_customer_picker.html",  # also swaps the payment methods out of band
        "results": "invoicing/_customer_results.html",
        "preview": "invoicing/_invoice_preview.html",
    }
    if part not in templates:
        raise Http404
    return render(request, templates[part], _form_context(request, form))


# The detail page and its actions ----------------------------------------------------------------


# Reads only, as the list: in PostgreSQL's READ COMMITTED each statement sees its own snapshot anyway, so
# ATOMIC_REQUESTS would add nothing but a BEGIN and a COMMIT round trip. Every action re-renders the
# page from its own view, inside its transaction.
@transaction.non_atomic_requests
@never_cache  # right after Finalize it shows the customer's pay link, which works for anyone who has it
@partner_view()
def invoice_detail(request, invoice_id: int):
    invoice = selectors.invoice_get(partner=request.partner, invoice_id=invoice_id)
    asked = request.GET.get("open", "")  # a money action's form, drawn on the page (no JavaScript)
    return render_detail(request, invoice, open_panel=asked if asked in ACTION_FORMS else "")


ACTION_TEMPLATES = {name: f"invoicing/_action_{name}.html" for name in ACTION_FORMS}
ACTION_ALLOWED = {"charge": "charge", "payment": "take_payment", "credit": "credit_note"}


@transaction.non_atomic_requests
@never_cache  # each form carries a fresh idempotency key
@partner_view(read_role=Role.MEMBER)  # forms to change money: not for read-only members
@require_safe
def invoice_action_form(request, invoice_id: int, name: str):
    """One money action's form, fetched by htmx when its panel on the invoice page opens."""
    if name not in ACTION_TEMPLATES:
        raise Http404("No such form.")
    invoice = selectors.invoice_get(partner=request.partner, invoice_id=invoice_id)
    refused = invoice.refusal(InvoiceAction(ACTION_ALLOWED[name]))
    if refused:  # paid or voided since the page was drawn; htmx shows what it is told, so a 200
        return render(request, "invoicing/_action_refused.html", {"invoice": invoice, "refused": refused})
    return render(request, ACTION_TEMPLATES[name], action_form_context(request, invoice, name))


def _action(request, invoice_id: int, action, success: str):
    invoice = selectors.invoice_get(partner=request.partner, invoice_id=invoice_id)
    try:
        result = action(invoice=invoice, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("invoice_detail", invoice_id=invoice.pk)
    messages.success(request, success.format(invoice=result))
    pay_link_message(request, getattr(result, "fresh_pay_url", None))
    return redirect("invoice_detail", invoice_id=result.pk)


@require_POST
@partner_view()
def invoice_finalize(request, invoice_id: int):
    return _action(request, invoice_id, services.invoice_finalize, "Invoice {invoice.number} is open.")


@require_POST
@partner_view()
def invoice_void(request, invoice_id: int):
    return _action(request, invoice_id, services.invoice_void, "Invoice {invoice.number} is void.")


@require_POST
@partner_view()
def invoice_mark_uncollectible(request, invoice_id: int):
    return _action(
        request,
        invoice_id,
        services.invoice_mark_uncollectible,
        "Invoice {invoice.number} is marked uncollectible.",
    )


@require_POST
@partner_view()
def invoice_duplicate(request, invoice_id: int):
    return _action(
        request, invoice_id, services.invoice_duplicate, "A new draft was created from the invoice."
    )


@require_POST
@partner_view()
def invoice_memo(request, invoice_id: int):
    invoice = selectors.invoice_get(partner=request.partner, invoice_id=invoice_id)
    form = MemoForm(request.POST)
    if not form.is_valid():
        return render_detail(request, invoice, memo_form=form, open_panel="memo")
    services.invoice_update_memo(invoice=invoice, memo=form.cleaned_data["memo"], actor=request.user)
    messages.success(request, "Memo updated.")
    return redirect("invoice_detail", invoice_id=invoice.pk)


@require_POST
@partner_view()
def invoice_record_payment(request, invoice_id: int):
    invoice = selectors.invoice_get(partner=request.partner, invoice_id=invoice_id)
    form = OfflinePaymentForm(request.POST, currency=invoice.currency)
    if form.is_valid() and form.cleaned_data["amount_minor"] is not None:
        try:
            payment = payment_record_offline(
                invoice=invoice,
                amount=form.cleaned_data["amount_minor"],
                method=form.cleaned_data["method"],
                received_on=form.cleaned_data["received_on"],
                reference=form.cleaned_data["reference"],
                keep_excess_as_credit=form.cleaned_data["keep_excess_as_credit"],
                actor=request.user,
                idempotency_key=form.cleaned_data["idempotency_key"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, ALREADY_SUBMITTED if replayed(payment) else "Payment recorded.")
            return redirect("invoice_detail", invoice_id=invoice.pk)
    return render_detail(request, invoice, payment_form=form, open_panel="payment")


@require_POST
@partner_view()
def invoice_credit_note(request, invoice_id: int):
    invoice = selectors.invoice_get(partner=request.partner, invoice_id=invoice_id)
    form = CreditNoteForm(request.POST, currency=invoice.currency)
    if form.is_valid() and form.cleaned_data["amount_minor"] is not None:
        try:
            note = services.credit_note_create(
                invoice=invoice,
                amount=form.cleaned_data["amount_minor"],
                reason=form.cleaned_data["reason"],
                actor=request.user,
                idempotency_key=form.cleaned_data["idempotency_key"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(
                request, ALREADY_SUBMITTED if replayed(note) else f"Credit note {note.number} issued."
            )
            return redirect("invoice_detail", invoice_id=invoice.pk)
    return render_detail(request, invoice, credit_form=form, open_panel="credit")
