"""Reads about partners, their people and invitations. Every read a view makes is scoped to a partner."""

from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django_scopes import scopes_disabled

from partners.models import Invitation, Membership, Partner, User
from partners.tokens import token_hash


def _memberships_in_active_partners() -> QuerySet[Membership]:
    # The partner's logo bytes (up to 1 MB) are left out: pages show it from its own URL.
    return (
        Membership.objects.filter(partner__is_active=True)
        .select_related("partner")
        .defer("partner__logo")
        .order_by("partner__name", "pk")
    )


def membership_list_for_user(*, user: User) -> list[Membership]:
    """All of a user's memberships, across partners: the one read that must cross tenants (switcher)."""
    with scopes_disabled():
        return list(_memberships_in_active_partners().filter(user=user))


def user_with_memberships(*, user_id: int) -> User | None:
    """The user with `partner_memberships` (as membership_list_for_user), in two queries.

    Used by partners.backends on every request. Crosses tenants as membership_list_for_user does."""
    with scopes_disabled():
        memberships = Prefetch(
            "memberships", queryset=_memberships_in_active_partners(), to_attr="partner_memberships"
        )
        return User.objects.prefetch_related(memberships).filter(pk=user_id).first()


def membership_choose(*, memberships: list[Membership], partner_id: int | None) -> Membership | None:
    """The membership in the partner the person chose, or else the business they joined first (the
    list itself is sorted by name, for the switcher)."""
    for membership in memberships:
        if membership.partner_id == partner_id:
            return membership
    return min(memberships, key=lambda membership: membership.pk, default=None)


def member_list(*, partner: Partner) -> QuerySet[Membership]:
    return Membership.objects.filter(partner=partner).select_related("user").order_by("created_at")


def membership_get(*, partner: Partner, membership_id: int) -> Membership:
    try:
        return Membership.objects.select_related("user").get(partner=partner, pk=membership_id)
    except Membership.DoesNotExist:
        raise Http404("No such team member.") from None


def invitation_pending_list(*, partner: Partner) -> QuerySet[Invitation]:
    return Invitation.objects.filter(partner=partner, accepted_at=None, revoked_at=None).select_related(
        "invited_by"
    )


def invitation_get(*, partner: Partner, invitation_id: int) -> Invitation:
    try:
        return Invitation.objects.get(partner=partner, pk=invitation_id)
    except Invitation.DoesNotExist:
        raise Http404("No such invitation.") from None


def invitation_get_by_token(*, token: str) -> Invitation | None:
    """The invitation a link points at, whatever its state; the caller decides what an old one means."""
    with scopes_disabled():  # a link's token names the partner: no scope yet
        return Invitation.objects.select_related("partner").filter(token_hash=token_hash(token)).first()


def partner_get_by_logo(*, logo_sha256: str) -> Partner | None:
    return Partner.objects.filter(logo_sha256=logo_sha256).exclude(logo=None).first()


def user_exists(*, email: str) -> bool:
    return User.objects.filter(email__iexact=email).exists()
