import re

import pytest
from django.core import mail
from django.urls import reverse

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def sign_in(client, email, password):
    return client.post(reverse("login"), {"username": email, "password": password})


def test_a_partner_signs_in_with_email_and_password_and_lands_on_their_dashboard(client, owner, partner):
    response = sign_in(client, owner.email, PASSWORD)
    assert response.status_code == 302
    assert response.url == reverse("dashboard")
    page = client.get(reverse("dashboard"))
    assert partner.name in page.content.decode()


def test_email_is_case_insensitive_at_sign_in(client, owner):
    assert sign_in(client, owner.email.upper(), PASSWORD).status_code == 302


def test_a_wrong_password_says_so_next_to_the_form_and_keeps_the_email(client, owner):
    response = sign_in(client, owner.email, "not-the-password")
    assert response.status_code == 200
    body = response.content.decode()
    assert "don&#x27;t match an account" in body
    assert f'value="{owner.email}"' in body


def test_sign_in_is_rate_limited_per_email_even_for_the_right_password(client, owner, settings):
    limit = int(settings.SIGN_IN_RATE_LIMIT.split("/")[0])
    for _ in range(limit):
        sign_in(client, owner.email, "guess")
    response = sign_in(client, owner.email, PASSWORD)
    assert response.status_code == 200
    assert "Too many sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_rate_limit_also_counts_per_ip_across_addresses(client, owner, settings):
    limit = int(settings.SIGN_IN_RATE_LIMIT.split("/")[0])
    for n in range(limit):
        sign_in(client, f"someone{n}@example.com", "guess")
    assert "Too many sign-in attempts" in sign_in(client, owner.email, PASSWORD).content.decode()


def test_a_malformed_sign_in_post_gets_a_message_not_an_error(client):
    response = client.post(reverse("login"), {"username": "not an email", "password": ""})
    assert response.status_code == 200
    assert "Enter a valid email address" in response.content.decode()


def test_password_reset_does_not_reveal_whether_an_account_exists(client, owner):
    unknown = client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    known = client.post(reverse("password_reset"), {"email": owner.email})
    assert unknown.status_code == known.status_code == 302
    assert unknown.url == known.url == reverse("password_reset_done")
    assert [m.to for m in mail.outbox] == [[owner.email]]


def test_the_reset_email_link_sets_a_new_password(client, owner):
    client.post(reverse("password_reset"), {"email": owner.email})
    (message,) = mail.outbox
    assert message.alternatives, "the reset email has an HTML part"
    link = re.search(r"https?://[^/\s]+(/password-reset/\S+/)", message.body).group(1)
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    new_password = "a-brand-new-passphrase"
    response = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": new_password, "new_password2": new_password}
    )
    assert response.status_code == 302
    client.logout()
    assert sign_in(client, owner.email, new_password).status_code == 302


def test_sign_out_is_a_post_and_ends_the_session(owner_client):
    response = owner_client.post(reverse("logout"))
    assert response.status_code == 302
    assert owner_client.get(reverse("dashboard")).status_code == 302


def test_a_user_without_a_partner_sees_how_to_get_access(client):
    from tests.factories import UserFactory

    user = UserFactory()
    client.force_login(user)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 403
    assert "not part of a business yet" in response.content.decode()
