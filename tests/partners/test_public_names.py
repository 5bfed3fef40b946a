"""Public URLs name a partner by its slug, random and unguessable, never by its sequential database id:
walking ids must not list the businesses on the platform."""

import json
import re
import subprocess
import sys

import pytest
from django.db import connection
from django.test import Client
from django.urls import get_resolver, reverse

from tests.factories import PartnerFactory
from tests.factories.invoicing import make_invoice
from tests.partners.test_tenancy import walk
from tests.payments.chaos import ROOT, child_env

ROUTE_ARGUMENT = re.compile(r"<(?:(\w+):)?(\w+)>")


def public_routes() -> list[str]:
    """Every route a visitor reaches without signing in as a partner (admin excluded: staff only)."""
    return [
        route
        for pattern, route in walk(get_resolver().url_patterns)
        if not getattr(pattern.callback, "partner_view", False)
    ]


def test_no_public_route_takes_a_partner_id():
    partner_arguments = [
        route
        for route in public_routes()
        for _, argument in ROUTE_ARGUMENT.findall(route)
        if argument.startswith("partner") and argument != "partner_slug"
    ]
    assert partner_arguments == []
    assert any("<slug:partner_slug>" in route for route in public_routes())


@pytest.mark.django_db
def test_walking_partner_ids_on_the_portal_finds_nobody():
    partners = [PartnerFactory(name=f"Secret Client {n} LLC") for n in range(3)]
    client = Client()
    for partner in partners:
        response = client.get(f"/pay/{partner.pk}/account/sign-in/")
        assert response.status_code == 404
        assert partner.name not in response.content.decode()
    named = client.get(reverse("portal_sign_in", kwargs={"partner_slug": partners[0].slug}))
    assert named.status_code == 200
    assert "Secret Client 0 LLC" in named.content.decode()


@pytest.mark.django_db
def test_slugs_are_random_and_the_pay_page_links_the_portal_by_slug(partner):
    slugs = {partner.slug, *(PartnerFactory().slug for _ in range(20))}
    assert len(slugs) == 21
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{16}", slug) for slug in slugs)
    token = make_invoice(partner).fresh_pay_url.rstrip("/").rsplit("/", 1)[-1]
    body = Client().get(reverse("pay_page", kwargs={"token": token})).content.decode()
    assert f'href="/pay/{partner.slug}/account/sign-in/"' in body
    assert f"/pay/{partner.pk}/" not in body


@pytest.mark.django_db
def test_the_migration_gives_every_existing_partner_its_own_slug():
    settings_dict = {**connection.settings_dict, "NAME": f"{connection.settings_dict['NAME']}_slugs"}
    result = subprocess.run(
        [sys.executable, "-m", "tests.partners.migrate_partner_slug"],
        cwd=ROOT,
        env=child_env(settings_dict, settings_module="config.settings.test"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    slugs = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(slugs) == len(set(slugs)) == 5
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{16}", slug) for slug in slugs)
