"""Home: what needs the partner's attention now, per currency, and the latest activity."""

from django.db import transaction
from django.shortcuts import render

from dashboard import activity, figures, reports
from partners.permissions import partner_view

RECENT_ACTIVITY = 10


# Reads only: no transaction round trips on the page everyone opens first.
@transaction.non_atomic_requests
@partner_view()
def dashboard(request):
    partner = request.partner
    (summaries, bounces), as_of = figures.cached(
        partner,
        "dashboard",
        lambda: (reports.dashboard_summary(partner=partner), reports.bounces(partner=partner)),
    )
    context = {
        "summaries": summaries,
        "figures_as_of": as_of,
        "failed_charges": sum(summary.figures["attention"].count for summary in summaries),
        "recent": activity.activity_page(
            partner=partner, filters=activity.ActivityFilters(), limit=RECENT_ACTIVITY
        ).rows,
        "bounces": bounces,
        "due_soon_days": reports.DUE_SOON_DAYS,
        "paid_days": reports.PAID_RECENTLY_DAYS,
    }
    return render(request, "partners/dashboard.html", context)
