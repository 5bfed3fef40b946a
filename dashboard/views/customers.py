import copy

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from customers import selectors, services
from customers.forms import CustomerForm
from invoicing import selectors as invoice_selectors
from partners.permissions import partner_view
from payments import selectors as payment_selectors
from payments import services as payment_services
from payments.card_entry import allow_card_entry, card_entry_context
from payments.forms import METHOD_FORMS, SENSITIVE_FIELDS

PAGE_SIZE = 50
MAX_QUERY_LENGTH = 100


@partner_view()
def customer_list(request):
    query = request.GET.get("q", "").strip()[:MAX_QUERY_LENGTH]
    include_archived = request.GET.get("archived") == "1"
    customers = selectors.customer_list(
        partner=request.partner, query=query, include_archived=include_archived
    )
    context = {
        "page": Paginator(customers, PAGE_SIZE).get_page(request.GET.get("page")),
        "query": query,
        "include_archived": include_archived,
        "can_edit": request.membership.can_write,
    }
    # The search box swaps only the results; a history restore (Back) needs the whole page.
    partial = request.htmx and not request.htmx.history_restore_request
    template = "customers/_customer_results.html" if partial else "customers/customer_list.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@partner_view()
def customer_create(request):
    form = CustomerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            customer = services.customer_create(partner=request.partner, data=form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"{customer.display_name} added.")
            return redirect("customer_detail", customer_id=customer.pk)
    return render(request, "customers/customer_form.html", _form_context(request, form=form, customer=None))


@partner_view()
def customer_edit(request, customer_id: int):
    customer = selectors.customer_get(partner=request.partner, customer_id=customer_id)
    # What was typed is written onto a copy, so a refused change leaves the heading showing the saved one.
    form = CustomerForm(request.POST or None, instance=copy.copy(customer))
    if request.method == "POST" and form.is_valid():
        try:
            services.customer_update(customer=form.instance, data=form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Changes to {customer.display_name} saved.")
            return redirect("customer_detail", customer_id=customer.pk)
    return render(
        request, "customers/customer_form.html", _form_context(request, form=form, customer=customer)
    )


def _form_context(request, *, form: CustomerForm, customer) -> dict:
    can_edit = request.membership.can_write
    if not can_edit:
        for field in form.fields.values():
            field.disabled = True
    return {"form": form, "customer": customer, "can_edit": can_edit}


@partner_view()
def customer_detail(request, customer_id: int):
    customer = selectors.customer_get(partner=request.partner, customer_id=customer_id)
    context = {
        "customer": customer,
        "balance": invoice_selectors.customer_balance(customer=customer),
        "credit": payment_selectors.customer_credit_balances(customer=customer),
        "invoices": invoice_selectors.customer_recent_invoices(customer=customer),
        "attention": payment_selectors.invoices_needing_attention(partner=request.partner, customer=customer),
        "payment_methods": selectors.customer_payment_methods(customer=customer),
        "today": request.partner.today(),
        "can_edit": request.membership.can_write,
    }
    return render(request, "customers/customer_detail.html", context)


@require_POST
@partner_view()
def customer_archive(request, customer_id: int):
    customer = selectors.customer_get(partner=request.partner, customer_id=customer_id)
    services.customer_archive(customer=customer)
    messages.success(
        request, f"{customer.display_name} archived. Their invoices stay; restore them to invoice them again."
    )
    return redirect("customer_detail", customer_id=customer.pk)


@require_POST
@partner_view()
def customer_unarchive(request, customer_id: int):
    customer = selectors.customer_get(partner=request.partner, customer_id=customer_id)
    services.customer_unarchive(customer=customer)
    messages.success(request, f"{customer.display_name} restored.")
    return redirect("customer_detail", customer_id=customer.pk)


# Payment methods and Auto-Pay --------------------------------------------------------------------


@sensitive_post_parameters(*SENSITIVE_FIELDS)
@partner_view()
def payment_method_add(request, customer_id: int):
    """Save a card or bank account. The numbers go to the gateway and nowhere else: not the database,
    not the logs, and not back into the page when the form has errors."""
    customer = selectors.customer_get(partner=request.partner, customer_id=customer_id)
    kind = request.POST.get("kind") or request.GET.get("kind")
    kind = kind if kind in METHOD_FORMS else "card"
    form = METHOD_FORMS[kind](request.POST or None, today=request.partner.today())
    if request.method == "POST" and form.is_valid():
        try:
            method = payment_services.payment_method_new(
                customer=customer,
                **form.method_input(),
                make_default=form.cleaned_data["make_default"],
                actor=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"{method} saved for {customer.display_name}.")
            return redirect("customer_detail", customer_id=customer.pk)
    context = {"customer": customer, "form": form, "kind": kind, "kinds": METHOD_FORMS}
    if kind == "card" and request.membership.can_write:
        context |= _card_entry(form, customer)
    return allow_card_entry(render(request, "customers/payment_method_form.html", context), context)


def _card_entry(form, customer) -> dict:
    try:
        return card_entry_context(customer=customer)
    except ValidationError as error:  # the processor is not answering
        form.add_error(None, error.messages)
        return {}


@require_POST
@partner_view()
def payment_method_set_default(request, customer_id: int, payment_method_id: int):
    customer = selectors.customer_get(partner=request.partner, customer_id=customer_id)
    method = payment_selectors.payment_method_get(customer=customer, payment_method_id=payment_method_id)
    try:
        payment_services.payment_method_set_default(method=method, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{method} is now the default payment method.")
    return redirect("customer_detail", customer_id=customer.pk)


@require_POST
@partner_view()
def payment_method_remove(request, customer_id: int, payment_method_id: int):
    customer = selectors.customer_get(partner=request.partner, customer_id=customer_id)
    method = payment_selectors.payment_method_get(customer=customer, payment_method_id=payment_method_id)
    had_autopay = customer.autopay
    payment_services.payment_method_remove(method=method, actor=request.user)
    customer.refresh_from_db(fields=["autopay"])
    note = (
        " Auto-Pay is off: there is no payment method left to charge."
        if had_autopay and not customer.autopay
        else ""
    )
    messages.success(request, f"{method} removed.{note}")
    return redirect("customer_detail", customer_id=customer.pk)


@require_POST
@partner_view()
def customer_autopay(request, customer_id: int):
    customer = selectors.customer_get(partner=request.partner, customer_id=customer_id)
    enabled = request.POST.get("enabled") == "1"
    try:
        payment_services.customer_set_autopay(customer=customer, enabled=enabled, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            f"Auto-Pay is on for {customer.display_name}: new invoices default to Charge on due date."
            if enabled
            else f"Auto-Pay is off for {customer.display_name}.",
        )
    return redirect("customer_detail", customer_id=customer.pk)
