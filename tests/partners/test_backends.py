"""partners.backends.MembershipBackend: the signed-in user and their memberships, read fresh each request."""

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from partners.backends import MembershipBackend
from partners.models import Membership, Role
from tests.conftest import client_for, member_of

pytestmark = pytest.mark.django_db


def test_the_user_and_their_memberships_load_in_two_queries(
    partner, other_partner, django_assert_num_queries
):
    user = member_of(partner, Role.ADMIN).user
    with scopes_disabled():
        Membership.objects.create(partner=other_partner, user=user, role=Role.READ_ONLY)
    with django_assert_num_queries(2):  # the user, then the memberships with their partners
        loaded = MembershipBackend().get_user(user.pk)
        roles = {m.partner.name: m.role for m in loaded.partner_memberships}
        assert all(m.user is loaded for m in loaded.partner_memberships)
    assert loaded == user
    assert roles == {partner.name: Role.ADMIN, other_partner.name: Role.READ_ONLY}


def test_memberships_in_inactive_businesses_are_left_out_and_logos_not_read(partner, other_partner):
    user = member_of(partner, Role.OWNER).user
    with scopes_disabled():
        Membership.objects.create(partner=other_partner, user=user, role=Role.MEMBER)
    other_partner.is_active = False
    other_partner.save(update_fields=["is_active"])

    [membership] = MembershipBackend().get_user(user.pk).partner_memberships

    assert membership.partner == partner
    assert membership.role == Role.OWNER
    assert membership.partner.get_deferred_fields() == {"logo"}  # up to 1 MB, shown from its own URL


def test_a_user_without_memberships_or_inactive_is_handled_like_model_backend(partner):
    lonely = member_of(partner).user
    with scopes_disabled():
        Membership.objects.filter(user=lonely).delete()
    assert MembershipBackend().get_user(lonely.pk).partner_memberships == []
    lonely.is_active = False
    lonely.save(update_fields=["is_active"])
    assert MembershipBackend().get_user(lonely.pk) is None
    assert MembershipBackend().get_user(999_999) is None


def test_a_role_change_applies_on_the_very_next_request(partner):
    membership = member_of(partner, Role.MEMBER)
    client = client_for(membership.user)
    assert client.post(reverse("invoice_create"), {}).status_code == 200  # the form, with its errors
    with scopes_disabled():
        Membership.objects.filter(pk=membership.pk).update(role=Role.READ_ONLY)
    assert client.post(reverse("invoice_create"), {}).status_code == 403
    assert client.get(reverse("invoice_list")).status_code == 200
