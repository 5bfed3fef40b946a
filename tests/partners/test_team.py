import pytest
from django.urls import reverse

from partners.models import Membership, Role
from tests.conftest import client_for, member_of

pytestmark = pytest.mark.django_db


def role_url(membership):
    return reverse("team_member_role", kwargs={"membership_id": membership.pk})


def remove_url(membership):
    return reverse("team_member_remove", kwargs={"membership_id": membership.pk})


def test_an_owner_changes_a_role(owner_client, partner, unscoped):
    membership = member_of(partner, Role.MEMBER)
    owner_client.post(role_url(membership), {"role": Role.READ_ONLY})
    membership.refresh_from_db()
    assert membership.role == Role.READ_ONLY


def test_the_last_owner_cannot_be_demoted_or_removed(partner, unscoped):
    owner_membership = member_of(partner, Role.OWNER)
    second_owner = member_of(partner, Role.OWNER)
    client = client_for(second_owner.user)
    client.post(remove_url(owner_membership))
    assert not Membership.objects.filter(pk=owner_membership.pk).exists()
    response = client_for(second_owner.user).post(role_url(second_owner), {"role": Role.MEMBER}, follow=True)
    second_owner.refresh_from_db()
    assert second_owner.role == Role.OWNER
    assert "at least one owner" in response.content.decode()


def test_an_admin_cannot_promote_to_owner_or_remove_an_owner(partner, unscoped):
    owner = member_of(partner, Role.OWNER)
    admin = member_of(partner, Role.ADMIN)
    member = member_of(partner, Role.MEMBER)
    client = client_for(admin.user)
    response = client.post(role_url(member), {"role": Role.OWNER}, follow=True)
    assert "Only an owner" in response.content.decode()
    client.post(remove_url(owner))
    member.refresh_from_db()
    assert member.role == Role.MEMBER
    assert Membership.objects.filter(pk=owner.pk).exists()


def test_a_bogus_role_is_refused_with_a_message(owner_client, partner, unscoped):
    membership = member_of(partner, Role.MEMBER)
    response = owner_client.post(role_url(membership), {"role": "emperor"}, follow=True)
    assert response.status_code == 200
    assert "Choose one of the listed roles" in response.content.decode()


def test_removed_people_lose_access_at_once(owner_client, partner):
    membership = member_of(partner, Role.MEMBER)
    removed = client_for(membership.user)
    assert removed.get(reverse("dashboard")).status_code == 200
    owner_client.post(remove_url(membership))
    assert removed.get(reverse("dashboard")).status_code == 403


def test_htmx_actions_swap_the_team_panel(owner_client, partner):
    membership = member_of(partner, Role.MEMBER)
    response = owner_client.post(role_url(membership), {"role": Role.ADMIN}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert "is now Admin" in body
