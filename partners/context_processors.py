from django.conf import settings


def partner(request) -> dict:
    return {
        "current_partner": getattr(request, "partner", None),
        "current_membership": getattr(request, "membership", None),
        "all_memberships": getattr(request, "memberships", []),  # read once by PartnerMiddleware
        "dev_outbox_enabled": settings.DEV_OUTBOX_ENABLED,
    }
