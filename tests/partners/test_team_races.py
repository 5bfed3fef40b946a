""" "Always an owner" holds when two owners act on each other at the same moment, on real connections."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from partners.models import Membership, Role
from partners.services import membership_change_role, membership_remove
from tests.concurrency import at_once
from tests.conftest import client_for, member_of
from tests.factories import PartnerFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("unscoped")]

ROUNDS = 5


def _demote(target: Membership, actor: Membership):
    return membership_change_role(membership=target, role=Role.ADMIN, actor=actor)


def _remove(target: Membership, actor: Membership):
    return membership_remove(membership=target, actor=actor)


def _loaded(membership: Membership) -> Membership:
    """Its own copy, read before the race as each request's page would have read it."""
    return Membership.objects.select_related("user", "partner").get(pk=membership.pk)


@pytest.mark.parametrize("action", [_demote, _remove], ids=["demote", "remove"])
def test_two_owners_acting_on_each_other_at_once_leave_one_owner(action):
    for _ in range(ROUNDS):
        partner = PartnerFactory()
        first, second = member_of(partner, Role.OWNER), member_of(partner, Role.OWNER)
        pairs = iter([(_loaded(first), _loaded(second)), (_loaded(second), _loaded(first))])
        results = at_once(2, lambda pairs=pairs: action(*next(pairs)))
        assert sorted(type(result).__name__ for result in results) == ["NoneType", "ValidationError"]
        refused = next(result for result in results if isinstance(result, ValidationError))
        assert "no longer on this team" in refused.messages[0] or "Only an owner" in refused.messages[0]
        assert Membership.objects.filter(partner=partner, role=Role.OWNER).count() == 1


def test_a_platform_admin_makes_an_owner_for_a_business_left_without_one():
    """A business that lost its last owner before the lock existed is recovered in the Django admin."""
    partner = PartnerFactory()
    admin_member = member_of(partner, Role.ADMIN)
    staff = client_for(UserFactory(is_staff=True, is_superuser=True))
    url = reverse("admin:partners_membership_change", args=[admin_member.pk])
    response = staff.post(
        url, {"user": admin_member.user_id, "partner": partner.pk, "role": Role.OWNER}, follow=True
    )
    assert response.status_code == 200
    admin_member.refresh_from_db()
    assert admin_member.role == Role.OWNER
