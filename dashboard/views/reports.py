"""Reports (aging, cash received), the activity log and the CSV exports. Read-only pages."""

from django import forms
from django.db import transaction
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_safe

from core import money
from core.formats import format_day
from customers.selectors import customer_list
from dashboard import activity, export, figures, reports
from dashboard.charts import columns, horizontal_bars
from dashboard.views.invoices import list_filters
from invoicing import selectors
from partners.permissions import partner_view


def _aging_chart(summary: reports.CurrencySummary):
    rows = [
        (label, figure.amount, _figure_label(figure, summary.currency), f"bar-{key}")
        for key, label, figure in summary.aging
    ]
    return horizontal_bars(rows)


def _figure_label(figure: reports.Figure, currency: str) -> str:
    invoices = "invoice" if figure.count == 1 else "invoices"
    return f"{money.format_money(figure.amount, currency)} · {figure.count} {invoices}"


def _cash_chart(currency: str, weeks: list[reports.Week]):
    rows = [
        (
            format_day(week.start, year=False),
            week.amount,
            money.format_money(week.amount, currency, compact=True),
        )
        for week in weeks
    ]
    return columns(rows)


@transaction.non_atomic_requests
@partner_view()
@require_safe  # read-only pages: a POST is refused, never treated as a read
def reports_home(request):
    partner = request.partner
    summaries, aging_as_of = figures.cached(
        partner, "receivables", lambda: reports.receivables_summary(partner=partner)
    )
    cash, cash_as_of = figures.cached(partner, "cash", lambda: reports.cash_by_week(partner=partner))
    context = {
        "figures_as_of": min(aging_as_of, cash_as_of),
        "aging": [(summary, _aging_chart(summary)) for summary in summaries if summary.aging_total],
        "cash": [(currency, weeks, _cash_chart(currency, weeks)) for currency, weeks in cash.items()],
        "today": partner.today(),
        "weeks": reports.CASH_WEEKS,
    }
    return render(request, "invoicing/reports/reports.html", context)


@partner_view()
@require_safe  # read-only pages: a POST is refused, never treated as a read
def aging_by_customer(request):
    currency = request.GET.get("currency", "").upper()
    if currency not in money.CURRENCY_EXPONENTS:
        currency = request.partner.default_currency
    rows, cut = reports.aging_by_customer(partner=request.partner, currency=currency)
    context = {
        "currency": currency,
        "rows": rows,
        "cut": cut,
        "limit": reports.CUSTOMER_ROWS,
        "buckets": [label for _, label, _, _ in reports.BUCKETS],
        "today": request.partner.today(),
    }
    return render(request, "invoicing/reports/aging_customers.html", context)


class ActivityFilterForm(forms.Form):
    group = forms.ChoiceField(label="What", required=False)
    person = forms.ChoiceField(label="Who", required=False)
    date_from = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, people: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].choices = [("", "Everything")] + [
            (key, label) for key, (label, _) in activity.GROUPS.items()
        ]
        self.fields["person"].choices = [("", "Anyone"), *people]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        return cleaned


@transaction.non_atomic_requests
@partner_view()
@require_safe  # read-only pages: a POST is refused, never treated as a read
def activity_log(request):
    """Read-only: the log has no form that writes, and its rows are never edited."""
    people = activity.activity_people(partner=request.partner)
    form = ActivityFilterForm(request.GET or None, people=people)
    filters = activity.ActivityFilters()
    if form.is_bound and form.is_valid():
        filters = activity.ActivityFilters(**form.cleaned_data)
    page = activity.activity_page(
        partner=request.partner, filters=filters, cursor=request.GET.get("cursor", "")[:300]
    )
    query = request.GET.copy()
    query.pop("cursor", None)
    context = {"form": form, "page": page, "query": query.urlencode()}
    return render(request, "invoicing/reports/activity.html", context)


# CSV exports -------------------------------------------------------------------------------------------


def _csv_response(filename: str, header: list[str], rows) -> StreamingHttpResponse:
    response = StreamingHttpResponse(export.csv_stream(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    add_never_cache_headers(response)
    return response


def _export_view(view):
    """No transaction: the rows are read after the view returns, from a server-side cursor that
    outlives it. Reading only, so a POST is refused."""
    return transaction.non_atomic_requests(partner_view()(require_safe(view)))


@_export_view
def export_invoices(request):
    partner = request.partner
    filters = list_filters(request.GET, partner=partner)
    _, column, descending = selectors.SORTS.get(filters.sort, selectors.SORTS["-created"])
    order = [f"-{column}", "-id"] if descending else [column, "id"]
    invoices = selectors.invoice_filtered(partner=partner, filters=filters).order_by(*order)
    rows = export.invoice_rows(partner=partner, invoices=invoices)
    return _csv_response(f"invoices-{partner.today()}.csv", export.INVOICE_HEADER, rows)


@_export_view
def export_payments(request):
    partner = request.partner
    filters = list_filters(request.GET, partner=partner)
    unfiltered = filters.as_params().keys() <= {"sort"}
    invoices = None if unfiltered else selectors.invoice_filtered(partner=partner, filters=filters)
    rows = export.payment_rows(
        partner=partner, payments=export.payments_of(partner=partner, invoices=invoices)
    )
    return _csv_response(f"payments-{partner.today()}.csv", export.PAYMENT_HEADER, rows)


@_export_view
def export_customers(request):
    partner = request.partner
    customers = customer_list(
        partner=partner,
        query=request.GET.get("q", "").strip()[:100],
        include_archived=request.GET.get("archived") == "1",
    )
    rows = export.customer_rows(partner=partner, customers=customers)
    return _csv_response(f"customers-{partner.today()}.csv", export.CUSTOMER_HEADER, rows)
