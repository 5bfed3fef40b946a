import pytest
from django.urls import reverse

from partners.models import Role
from tests.conftest import member_of

pytestmark = pytest.mark.django_db


def test_a_person_in_two_partners_switches_between_them(
    owner_client, owner, partner, other_partner, unscoped
):
    from partners.models import Membership

    Membership.objects.create(partner=other_partner, user=owner, role=Role.MEMBER)
    page = owner_client.get(reverse("dashboard")).content.decode()
    assert 'name="partner"' in page  # the switcher shows
    owner_client.post(reverse("partner_switch"), {"partner": other_partner.pk})
    page = owner_client.get(reverse("dashboard")).content.decode()
    assert f"<h1>{other_partner.name}</h1>" in page
    # The role follows the partner: a Member there cannot change settings.
    assert owner_client.post(reverse("settings_details"), {"name": "x"}).status_code == 403


def test_switching_to_a_partner_you_are_not_in_is_404(owner_client, other_partner):
    assert owner_client.post(reverse("partner_switch"), {"partner": other_partner.pk}).status_code == 404
    assert owner_client.post(reverse("partner_switch"), {"partner": "garbage"}).status_code == 404


def test_the_partner_time_zone_is_active_for_its_pages(owner_client, partner):
    member_of(partner, Role.MEMBER)
    response = owner_client.get(reverse("dashboard"))
    assert "America/New_York" in response.content.decode()


def test_a_new_session_opens_the_business_the_person_joined_first_not_the_first_by_name(
    client, owner, partner, unscoped
):
    from partners.models import Membership, Partner

    earlier_by_name = Partner.objects.create(name="Aardvark Networks")  # sorts before "Northwind IT"
    Membership.objects.create(partner=earlier_by_name, user=owner, role=Role.MEMBER)
    client.force_login(owner)
    page = client.get(reverse("dashboard")).content.decode()
    assert f"<h1>{partner.name}</h1>" in page
    switcher = page[page.index('name="partner"') :]
    assert switcher.index("Aardvark Networks") < switcher.index(partner.name)  # still listed by name
