import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from partners.models import Invitation, Membership, Role
from partners.tokens import token_hash
from tests.conftest import client_for, member_of
from tests.factories import PASSWORD, InvitationFactory, UserFactory

pytestmark = pytest.mark.django_db


def without_csrf(response) -> str:
    return re.sub(r'"X-CSRFToken": "[^"]+"', "", response.content.decode())


def invite(client, email, role=Role.MEMBER, **kwargs):
    return client.post(reverse("team"), {"email": email, "role": role}, **kwargs)


def emailed_link(message) -> str:
    return re.search(r"https?://[^/\s]+(/invitations/[^/\s]+/)", message.body).group(1)


def test_an_owner_invites_by_email_and_only_a_hash_of_the_token_is_stored(
    owner_client, partner, unscoped, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = invite(owner_client, "New.Person@Example.com", Role.ADMIN)
    assert response.status_code == 302
    (message,) = mail.outbox
    assert message.to == ["new.person@example.com"]
    assert partner.name in message.subject
    link = emailed_link(message)
    token = link.split("/")[-2]
    invitation = Invitation.objects.get(partner=partner)
    assert invitation.token_hash == token_hash(token)
    assert token not in str(Invitation.objects.values_list().get())


def test_a_new_person_accepts_chooses_a_password_and_joins_with_the_invited_role(client, partner, unscoped):
    InvitationFactory(partner=partner, email="sam@example.com", role=Role.ADMIN, token="tok-sam")
    url = reverse("invitation_accept", kwargs={"token": "tok-sam"})
    assert partner.name in client.get(url).content.decode()
    response = client.post(url, {"full_name": "Sam Smith", "password": "a-long-enough-passphrase"})
    assert response.status_code == 302
    membership = Membership.objects.get(partner=partner, user__email="sam@example.com")
    assert membership.role == Role.ADMIN
    assert client.get(reverse("dashboard")).status_code == 200
    # The link is single-use.
    client.logout()
    assert client.get(url).status_code == 404


def test_a_weak_password_is_refused_next_to_the_field_and_the_name_is_kept(client, partner):
    InvitationFactory(partner=partner, email="sam@example.com", token="tok-weak")
    response = client.post(
        reverse("invitation_accept", kwargs={"token": "tok-weak"}),
        {"full_name": "Sam Smith", "password": "123"},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "too short" in body
    assert 'value="Sam Smith"' in body


def test_an_existing_user_signs_in_and_accepts(client, partner, unscoped):
    user = UserFactory(email="existing@example.com")
    InvitationFactory(partner=partner, email="existing@example.com", token="tok-existing")
    url = reverse("invitation_accept", kwargs={"token": "tok-existing"})
    assert client.get(url).url.startswith(reverse("login"))
    client.force_login(user)
    assert client.post(url).status_code == 302
    assert Membership.objects.filter(partner=partner, user=user).exists()


def test_an_invitation_for_someone_else_cannot_be_accepted_by_a_signed_in_user(client, partner, unscoped):
    InvitationFactory(partner=partner, email="intended@example.com", token="tok-other")
    client.force_login(UserFactory(email="wrong@example.com"))
    response = client.post(reverse("invitation_accept", kwargs={"token": "tok-other"}))
    assert "This invitation is for intended@example.com" in response.content.decode()
    assert not Membership.objects.filter(partner=partner, user__email="wrong@example.com").exists()


@pytest.mark.parametrize(
    "state",
    [
        {"expires_at": timezone.now() - timedelta(minutes=1)},
        {"revoked_at": timezone.now()},
        {"accepted_at": timezone.now()},
    ],
)
def test_expired_revoked_and_used_links_look_the_same_as_unknown_ones(client, partner, state):
    InvitationFactory(partner=partner, token="tok-dead", **state)
    dead = client.get(reverse("invitation_accept", kwargs={"token": "tok-dead"}))
    unknown = client.get(reverse("invitation_accept", kwargs={"token": "never-issued"}))
    assert dead.status_code == unknown.status_code == 404
    assert without_csrf(dead) == without_csrf(unknown)


def test_inviting_a_member_or_a_pending_address_again_is_refused_with_a_message(owner_client, owner, partner):
    response = invite(owner_client, owner.email)
    assert "is already a member" in response.content.decode()
    invite(owner_client, "twice@example.com")
    response = invite(owner_client, "Twice@example.com")
    assert "already has a pending invitation" in response.content.decode()


def test_an_admin_cannot_invite_an_owner(partner):
    admin = client_for(member_of(partner, Role.ADMIN).user)
    response = invite(admin, "boss@example.com", Role.OWNER)
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


def test_members_cannot_invite(partner):
    member = client_for(member_of(partner, Role.MEMBER).user)
    assert invite(member, "friend@example.com").status_code == 403


def test_revoking_kills_the_link(owner_client, partner, client):
    invitation = InvitationFactory(partner=partner, token="tok-revoke")
    owner_client.post(reverse("invitation_revoke", kwargs={"invitation_id": invitation.pk}))
    assert client.get(reverse("invitation_accept", kwargs={"token": "tok-revoke"})).status_code == 404


def test_the_team_page_lists_pending_invitations_with_htmx_partial(owner_client, partner):
    InvitationFactory(partner=partner, email="pending@example.com")
    response = owner_client.get(reverse("team"), headers={"HX-Request": "true"})
    body = response.content.decode()
    assert "pending@example.com" in body
    assert "<html" not in body  # only the panel is swapped


def test_accepting_signs_the_person_in_with_a_working_password(client, partner):
    InvitationFactory(partner=partner, email="pw@example.com", token="tok-pw")
    client.post(
        reverse("invitation_accept", kwargs={"token": "tok-pw"}),
        {"full_name": "P W", "password": "a-long-enough-passphrase"},
    )
    client.logout()
    response = client.post(
        reverse("login"), {"username": "pw@example.com", "password": "a-long-enough-passphrase"}
    )
    assert response.status_code == 302
    assert PASSWORD != "a-long-enough-passphrase"
