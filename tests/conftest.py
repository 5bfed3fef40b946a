import os

import pytest
from django.core.cache import cache
from django.db import connections
from django.test import Client
from django_scopes import scopes_disabled
from hypothesis import settings as hypothesis_settings

from core.redis import reset_breakers
from partners.models import Role
from tests import card_number_guard
from tests import stripe_double as double
from tests.factories import MembershipFactory, PartnerFactory, UserFactory

# Property tests explore new examples on a developer's machine; in CI (CI=true, as .ci/run sets) they run
# the same examples every time, so a red run is a real regression that reruns the same way.
hypothesis_settings.register_profile("ci", derandomize=True, database=None, deadline=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


def pytest_collection_modifyitems(items):
    """Every database test may also use the `sandbox` connection: the sandbox gateway keeps its books
    there, apart from the app's transaction, as a real processor would (see config.routers)."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        uses_db = marker or {"db", "transactional_db"} & set(getattr(item, "fixturenames", ()))
        if not uses_db or (marker and "databases" in marker.kwargs):
            continue
        kwargs = dict(marker.kwargs) if marker else {}
        if "transactional_db" in getattr(item, "fixturenames", ()):
            kwargs["transaction"] = True
        item.add_marker(pytest.mark.django_db(databases=["default", "sandbox"], **kwargs), append=False)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Close the sandbox connection too before the test database is dropped."""
    yield
    with django_db_blocker.unblock():
        connections.close_all()


@pytest.fixture(scope="session")
def _stripe_double_process():
    with double.running() as running:
        yield running


@pytest.fixture
def stripe_double(_stripe_double_process) -> double.StripeDouble:
    """localstripe behind our layer (tests/stripe_double), one process for the session; faults are
    forgotten after each test."""
    yield _stripe_double_process
    _stripe_double_process.reset()


@pytest.fixture(autouse=True)
def _no_card_number_reaches_the_app():
    """tests.card_number_guard records any request that carried one; the test fails even if the page
    swallowed the error (a browser test sees only a broken page)."""
    start = len(card_number_guard.seen)
    yield
    assert card_number_guard.seen[start:] == [], "A card number reached the app"


@pytest.fixture(autouse=True)
def _clean_cache():
    """Rate limits and heartbeats live in Redis; every test starts from an empty cache, with Redis asked
    again even if the test before made it look unreachable (core.redis)."""
    reset_breakers()
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
