import copy

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_POST

from partners import selectors, services
from partners.forms import AcceptInvitationForm, InvitationForm, PartnerDetailsForm, RoleForm, SignInForm
from partners.middleware import SESSION_PARTNER_KEY
from partners.models import AuditKind, Role
from partners.permissions import partner_view
from partners.ratelimit import client_ip, rate_limit_allows


class SignInView(auth_views.LoginView):
    form_class = SignInForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True


class PasswordResetView(auth_views.PasswordResetView):
    """Django's, limited per address and per email: each request that passes sends someone an email."""

    html_email_template_name = "registration/password_reset_email_html.html"
    subject_template_name = "registration/password_reset_subject.txt"

    def form_valid(self, form):
        keys = [f"ip:{client_ip(self.request)}", f"email:{form.cleaned_data['email'].strip().lower()}"]
        if not rate_limit_allows(scope="password-reset", keys=keys, rate=settings.PASSWORD_RESET_RATE_LIMIT):
            form.add_error(
                None, "Too many reset requests. Wait an hour, and look for the first email in spam."
            )
            return self.form_invalid(form)
        return super().form_valid(form)


@partner_view(write_role=Role.ADMIN)
def settings_details(request):
    partner = request.partner
    can_edit = request.membership.can_manage
    # What was typed goes onto a copy, so a refused change leaves the page (its header, the logo) as saved.
    form = PartnerDetailsForm(request.POST or None, request.FILES or None, instance=copy.copy(partner))
    if request.method == "POST" and form.is_valid():
        changes = services.settings_changes(form, exclude=("remove_logo",))
        partner = form.save()
        if form.cleaned_data["remove_logo"]:
            services.partner_set_logo(partner=partner, data=None)
            changes["Logo"] = ["", "removed"]
        elif form.cleaned_data["logo_upload"]:
            data, content_type = form.cleaned_data["logo_upload"]
            services.partner_set_logo(partner=partner, data=data, content_type=content_type)
            changes["Logo"] = ["", "replaced"]
        if changes:
            services.audit_record(
                partner=partner,
                kind=AuditKind.SETTINGS_CHANGED,
                actor=request.user,
                message=f"Changed {', '.join(changes)}",
                changes=changes,
            )
        messages.success(request, "Business details saved.")
        return redirect("settings_details")
    if not can_edit:
        for field in form.fields.values():
            field.disabled = True
    return render(request, "partners/settings_details.html", {"form": form, "can_edit": can_edit})


def _team_context(request, **extra) -> dict:
    return {
        "members": selectors.member_list(partner=request.partner),
        "invitations": selectors.invitation_pending_list(partner=request.partner),
        "invite_form": InvitationForm(actor_is_owner=request.membership.has_role(Role.OWNER)),
        "roles": Role.choices,
        "can_manage": request.membership.can_manage,
        "now": timezone.now(),
        **extra,
    }


def _team_response(request, **extra) -> HttpResponse:
    template = "partners/_team.html" if request.htmx else "partners/team.html"
    return render(request, template, _team_context(request, **extra))


@partner_view(write_role=Role.ADMIN)
def team(request):
    if request.method != "POST":
        return _team_response(request)
    form = InvitationForm(request.POST, actor_is_owner=request.membership.has_role(Role.OWNER))
    if form.is_valid():
        try:
            invitation = services.invitation_create(
                partner=request.partner,
                email=form.cleaned_data["email"],
                role=Role(form.cleaned_data["role"]),
                invited_by=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Invitation sent to {invitation.email}.")
            return _team_response(request) if request.htmx else redirect("team")
    return _team_response(request, invite_form=form)


@require_POST
@partner_view(write_role=Role.ADMIN)
def team_member_role(request, membership_id: int):
    membership = selectors.membership_get(partner=request.partner, membership_id=membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the listed roles.")
    else:
        try:
            services.membership_change_role(
                membership=membership, role=Role(form.cleaned_data["role"]), actor=request.membership
            )
            messages.success(request, f"{membership.user.email} is now {membership.get_role_display()}.")
        except ValidationError as error:
            messages.error(request, error.messages[0])
    return _team_response(request) if request.htmx else redirect("team")


@require_POST
@partner_view(write_role=Role.ADMIN)
def team_member_remove(request, membership_id: int):
    membership = selectors.membership_get(partner=request.partner, membership_id=membership_id)
    try:
        services.membership_remove(membership=membership, actor=request.membership)
        messages.success(request, f"{membership.user.email} no longer has access to {request.partner.name}.")
    except ValidationError as error:
        messages.error(request, error.messages[0])
    return _team_response(request) if request.htmx else redirect("team")


@require_POST
@partner_view(write_role=Role.ADMIN)
def invitation_revoke(request, invitation_id: int):
    invitation = selectors.invitation_get(partner=request.partner, invitation_id=invitation_id)
    services.invitation_revoke(invitation=invitation)
    messages.success(request, f"Invitation for {invitation.email} revoked.")
    return _team_response(request) if request.htmx else redirect("team")


@require_POST
@login_required
def partner_switch(request):
    partner_id = request.POST.get("partner", "")
    memberships = selectors.membership_list_for_user(user=request.user)
    chosen = next((m for m in memberships if str(m.partner_id) == partner_id), None)
    if chosen is None:
        raise Http404("You are not a member of that business.")
    request.session[SESSION_PARTNER_KEY] = chosen.partner_id
    messages.success(request, f"Switched to {chosen.partner.name}.")
    return redirect("dashboard")


@never_cache  # reached by the emailed secret link, and signs a new person in
def invitation_accept(request, token: str):
    """The emailed link. Signed-in users join at once; new people choose a name and password."""
    invitation = selectors.invitation_get_by_token(token=token)
    if invitation is None or not invitation.is_pending or invitation.expires_at <= timezone.now():
        return render(request, "partners/invitation_invalid.html", status=404)

    if request.user.is_authenticated:
        if request.method == "POST":
            try:
                services.invitation_accept(invitation=invitation, user=request.user)
            except ValidationError as error:
                return render(
                    request,
                    "partners/invitation_accept.html",
                    {"invitation": invitation, "error": error.messages[0]},
                )
            request.session[SESSION_PARTNER_KEY] = invitation.partner_id
            messages.success(request, f"Welcome to {invitation.partner.name}.")
            return redirect("dashboard")
        return render(request, "partners/invitation_accept.html", {"invitation": invitation})

    if selectors.user_exists(email=invitation.email):
        messages.info(request, f"Sign in as {invitation.email} to accept the invitation.")
        return auth_views.redirect_to_login(request.get_full_path())

    form = AcceptInvitationForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_create_from_invitation(
                invitation=invitation,
                full_name=form.cleaned_data["full_name"],
                password=form.cleaned_data["password"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            login(request, user, backend="partners.backends.MembershipBackend")
            request.session[SESSION_PARTNER_KEY] = invitation.partner_id
            messages.success(request, f"Welcome to {invitation.partner.name}.")
            return redirect("dashboard")
    return render(request, "partners/invitation_signup.html", {"invitation": invitation, "form": form})


@cache_control(public=True, max_age=31536000, immutable=True)
def partner_logo(request, logo_sha256: str):
    """Logos are public (they appear on invoices and pay pages) and addressed by content hash."""
    partner = selectors.partner_get_by_logo(logo_sha256=logo_sha256)
    if partner is None:
        raise Http404
    return HttpResponse(bytes(partner.logo), content_type=partner.logo_content_type)
