"""Resolves the current partner for each request and renders the response inside its scope.

As in pretix, the whole view runs inside `django_scopes.scope(partner=...)`: a query on a tenant model
anywhere below filters to this partner, and one made where no partner is active raises ScopeError.
"""

from django.conf import settings
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from partners.selectors import membership_choose, membership_list_for_user

SESSION_PARTNER_KEY = "partner_id"


class PartnerMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.admin_prefix = "/admin/"

    def __call__(self, request):
        request.membership = None
        request.memberships = []
        request.partner = None
        if request.path.startswith(self.admin_prefix):
            # Platform admins see every partner; Django admin is their tool, guarded by is_staff.
            with scopes_disabled():
                return self.get_response(request)

        if request.user.is_authenticated:
            # Loaded with the user by partners.backends.MembershipBackend; read here for other backends.
            memberships = getattr(request.user, "partner_memberships", None)
            request.memberships = (
                memberships if memberships is not None else membership_list_for_user(user=request.user)
            )
            request.membership = membership_choose(
                memberships=request.memberships, partner_id=request.session.get(SESSION_PARTNER_KEY)
            )
        if request.membership is None:
            return self.get_response(request)

        request.partner = request.membership.partner
        if request.session.get(SESSION_PARTNER_KEY) != request.partner.pk:
            request.session[SESSION_PARTNER_KEY] = request.partner.pk
        timezone.activate(request.partner.zone)
        try:
            with scope(partner=request.partner):
                return self.get_response(request)
        finally:
            timezone.activate(settings.TIME_ZONE)
