"""Who may do what inside a partner. Views declare it with `partner_view`; nothing else checks roles."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from partners.models import Role

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def partner_view(*, write_role: Role = Role.MEMBER, read_role: Role = Role.READ_ONLY) -> Callable:
    """Require a signed-in member of the current partner.

    Reading needs `read_role`; any unsafe method (POST, PUT, PATCH, DELETE) needs `write_role`, so a
    Read-only member gets 403 on every write without each view remembering to check.
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = request.membership
            if membership is None:
                return render(request, "partners/no_partner.html", status=403)
            needed = read_role if request.method in SAFE_METHODS else write_role
            if not membership.has_role(needed):
                raise PermissionDenied(f"This needs the {Role(needed).label} role or higher.")
            return view(request, *args, **kwargs)

        wrapped.partner_view = True  # the tenancy tests find every such view through the URLconf
        wrapped.write_role = write_role
        wrapped.read_role = read_role
        return wrapped

    return decorator
