import pytest
from django.core.cache import cache
from django.test import Client
from django_scopes import scopes_disabled

from partners.models import Role
from tests.factories import MembershipFactory, PartnerFactory, UserFactory


@pytest.fixture(autouse=True)
def _clean_cache():
    """Rate limits and heartbeats live in Redis; every test starts from an empty cache."""
    cache.clear()


@pytest.fixture
def unscoped():
    """For test set-up and assertions that look across partners, as an operator would."""
    with scopes_disabled():
        yield


@pytest.fixture
def partner(db):
    return PartnerFactory(name="Northwind IT")


@pytest.fixture
def other_partner(db):
    return PartnerFactory(name="Contoso Managed Services")


def member_of(partner, role=Role.OWNER, **user_fields):
    """A new person with `role` at `partner`; returns the Membership (its `.user` signs in)."""
    with scopes_disabled():
        return MembershipFactory(partner=partner, role=role, user=UserFactory(**user_fields))


@pytest.fixture
def owner(partner):
    return member_of(partner, Role.OWNER, email="owner@northwind.example").user


@pytest.fixture
def other_owner(other_partner):
    return member_of(other_partner, Role.OWNER, email="owner@contoso.example").user


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def owner_client(owner):
    return client_for(owner)
