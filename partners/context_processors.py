from django.conf import settings
from django.utils.functional import SimpleLazyObject

from partners.selectors import membership_list_for_user


def partner(request) -> dict:
    user = getattr(request, "user", None)
    return {
        "current_partner": getattr(request, "partner", None),
        "current_membership": getattr(request, "membership", None),
        # Only evaluated by the pages that show the partner switcher.
        "all_memberships": SimpleLazyObject(
            lambda: membership_list_for_user(user=user) if user and user.is_authenticated else []
        ),
        "dev_outbox_enabled": settings.DEV_OUTBOX_ENABLED,
    }
