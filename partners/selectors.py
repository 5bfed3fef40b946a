"""Reads about partners, their people and invitations. Every read a view makes is scoped to a partner."""

from django.db import connection
from django.db.models import QuerySet
from django.http import Http404
from django_scopes import scopes_disabled

from partners.models import Invitation, Membership, Partner, User
from partners.tokens import token_hash


def membership_list_for_user(*, user: User) -> list[Membership]:
    """All of a user's memberships, across partners: the one read that must cross tenants (switcher)."""
    with scopes_disabled():
        return list(
            Membership.objects.filter(user=user, partner__is_active=True)
            .select_related("partner")
            .order_by("partner__name")
        )


class _Columns:
    """A model's columns for a hand-written SELECT, and how to turn a slice of a row back into an instance.

    Used where the ORM's query building costs more than the query itself (see user_with_memberships).
    Only for fields that need no conversion from the database (tests/partners/test_backends.py checks).
    """

    def __init__(self, model, alias: str, *, leave_out: tuple[str, ...] = ()):
        self.model = model
        self.fields = [f for f in model._meta.concrete_fields if f.attname not in leave_out]
        self.names = [f.attname for f in self.fields]
        self.sql = ", ".join(f'{alias}."{f.column}"' for f in self.fields)

    def instance(self, row: tuple, start: int):
        return self.model.from_db("default", self.names, row[start : start + len(self.fields)])


_USER = _Columns(User, "u")
_MEMBERSHIP = _Columns(Membership, "m")
# The partner's logo bytes (up to 1 MB) are left out: pages show it from its own URL.
_PARTNER = _Columns(Partner, "p", leave_out=("logo",))
# Column lists come from the models, never from input; the user id is a parameter.
_USER_WITH_MEMBERSHIPS_SQL = f"""
    SELECT {_USER.sql}, {_MEMBERSHIP.sql}, {_PARTNER.sql}
    FROM partners_user u
    LEFT JOIN (partners_membership m JOIN partners_partner p ON p.id = m.partner_id AND p.is_active)
        ON m.user_id = u.id
    WHERE u.id = %s
    ORDER BY p.name, m.id
"""  # noqa: S608


def user_with_memberships(*, user_id: int) -> User | None:
    """The user with `partner_memberships` (as membership_list_for_user), in one query.

    Used by partners.backends on every request, so it is written in SQL: building the same query with
    the ORM took three times as long as running it.
    """
    with connection.cursor() as cursor:
        cursor.execute(_USER_WITH_MEMBERSHIPS_SQL, [user_id])
        rows = cursor.fetchall()
    if not rows:
        return None
    user = _USER.instance(rows[0], 0)
    memberships = []
    membership_at, partner_at = len(_USER.fields), len(_USER.fields) + len(_MEMBERSHIP.fields)
    for row in rows:
        if row[membership_at] is None:  # the user has no membership in an active partner
            continue
        membership = _MEMBERSHIP.instance(row, membership_at)
        membership.partner = _PARTNER.instance(row, partner_at)
        membership.user = user  # one object for the request, as request.user
        memberships.append(membership)
    user.partner_memberships = memberships
    return user


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
