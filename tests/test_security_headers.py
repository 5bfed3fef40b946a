"""Security headers and the strict Content-Security-Policy, checked over the app's pages: every partner page
in the URLconf (walked as in the tenancy test, so new pages are covered), the public pages, the hosted
invoice page and the customer account portal. Each HTML page must carry the policy and contain no inline
script, no <style> element, no style="" attribute and no on*= event handler, which the policy would block.
Pages that show a secret (a fresh pay link, an invitation, pay and portal pages) are never stored.
Also: HSTS over HTTPS in production settings, and the rate limit on dead tokens (shared through Redis)."""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import get_resolver, reverse

from config.middleware import CSP
from tests.conftest import client_for
from tests.factories import InvitationFactory
from tests.factories.invoicing import customer_for, make_invoice
from tests.factories.payments import card_for
from tests.partners.test_tenancy import object_ids_of, partner_urls, walk

TAG = re.compile(r"<[a-zA-Z][^>]*>")
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.I)
HANDLER_ATTRIBUTE = re.compile(r"\son[a-z]+\s*=", re.I)
ROUTE_ARGUMENT = re.compile(r"<(?:\w+:)?(\w+)>")


def assert_strict(response, url: str) -> None:
    assert response["Content-Security-Policy"] == CSP, url
    assert "script-src 'self'" in CSP
    assert "'unsafe-inline'" not in CSP
    assert response["X-Content-Type-Options"] == "nosniff", url
    assert response["X-Frame-Options"] == "DENY", url
    assert response["Referrer-Policy"] in ("same-origin", "strict-origin-when-cross-origin"), url
    assert "camera=()" in response["Permissions-Policy"], url
    assert response["Cross-Origin-Opener-Policy"] == "same-origin", url
    body = response.content.decode()
    assert not INLINE_SCRIPT.search(body), f"{url}: inline <script>"
    assert "<style" not in body.lower(), f"{url}: <style> element"
    for tag in TAG.findall(body):
        assert not STYLE_ATTRIBUTE.search(tag), f"{url}: style attribute in {tag}"
        assert not HANDLER_ATTRIBUTE.search(tag), f"{url}: event handler in {tag}"


def html_pages(client, urls) -> list[str]:
    checked = []
    for url in urls:
        response = client.get(url)
        if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
            continue
        policy = response["Content-Security-Policy"]
        if "sandbox" in policy:
            # An email drawn for preview: inline styles are how emails work, so it gets a stricter policy
            # of its own instead: no script at all, in a sandbox, framed only by the app.
            assert "default-src 'none'" in policy, url
            assert "script-src" not in policy, url
            continue
        assert_strict(response, url)
        checked.append(url)
    return checked


@pytest.mark.django_db
def test_every_partner_page_has_the_policy_and_nothing_inline(partner, owner):
    ids = object_ids_of(partner)
    customer = customer_for(partner)
    card_for(customer)
    ids["invoice_id"] = make_invoice(partner, customer=customer).pk  # an issued one: more of the page shows
    urls = []
    for pattern, _ in partner_urls():
        kwargs = {name: ids[name] for name in pattern.pattern.converters if name in ids}
        if len(kwargs) == len(pattern.pattern.converters):
            urls.append(reverse(pattern.name, kwargs=kwargs))
    checked = html_pages(client_for(owner), urls)
    for expected in ("/", "/invoices/", "/customers/", f"/invoices/{ids['invoice_id']}/", "/invoices/new/"):
        assert expected in checked
    assert len(checked) >= 25


@pytest.mark.django_db
def test_public_pay_and_portal_pages_have_the_policy_and_nothing_inline(
    partner, django_capture_on_commit_callbacks
):
    customer = customer_for(partner, email="alice@acme.example")
    card_for(customer)
    invoice = make_invoice(partner, customer=customer)
    token = invoice.fresh_pay_url.rstrip("/").rsplit("/", 1)[-1]
    client = Client()
    public = [
        reverse("login"),
        reverse("pay_lookup"),
        reverse("pay_page", kwargs={"token": token}),
        reverse("pay_page", kwargs={"token": token}) + "?kind=bank_account",
        reverse("pay_confirm", kwargs={"token": token}),
        reverse("portal_sign_in", kwargs={"partner_slug": partner.slug}),
    ]
    assert len(html_pages(client, public)) == len(public)
    dead = client.get(reverse("pay_page", kwargs={"token": "x" * 43}))
    assert dead.status_code == 404
    assert_strict(dead, "dead pay link")

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("portal_sign_in", kwargs={"partner_slug": partner.slug}), {"email": customer.email}
        )
    link = re.search(r"https?://[^/\s]+(/pay/\S+/)", mail.outbox[0].body).group(1)
    assert_strict(client.get(link), "sign-in link")
    client.post(link)
    portal = [
        reverse(name, kwargs={"partner_slug": partner.slug})
        for name in ("portal_invoices", "portal_methods", "portal_details")
    ]
    assert len(html_pages(client, [*portal, portal[1] + "?kind=bank_account"])) == 4


@pytest.mark.django_db
def test_hsts_is_sent_over_https_in_production(client, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    assert client.get("/healthz", secure=True)["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in client.get("/healthz")  # never over plain HTTP


def test_production_settings_turn_hsts_on_by_default():
    from config.settings import base

    assert base.DEBUG or base.SECURE_HSTS_SECONDS >= 31536000


@pytest.mark.django_db
def test_a_client_presenting_dead_tokens_is_limited_but_good_links_still_work(partner, settings):
    settings.TOKEN_MISS_RATE_LIMIT = "3/900"
    invoice = make_invoice(partner)
    good = reverse("pay_page", kwargs={"token": invoice.fresh_pay_url.rstrip("/").rsplit("/", 1)[-1]})
    client = Client()
    dead = [reverse("pay_page", kwargs={"token": f"{n}" * 43}) for n in range(3)]
    sign_in_link = reverse("portal_sign_in_link", kwargs={"partner_slug": partner.slug, "token": "z" * 43})
    assert [client.get(url).status_code for url in dead] == [404, 404, 404]
    assert client.get(reverse("pay_page", kwargs={"token": "9" * 43})).status_code == 429
    assert client.post(sign_in_link).status_code == 429
    assert client.get(good).status_code == 200
    assert Client(REMOTE_ADDR="203.0.113.7").get(dead[0]).status_code == 404  # another address is not


def assert_never_stored(response, url: str) -> None:
    """Django's never_cache headers: no browser, proxy or back button keeps a copy of the page."""
    directives = {directive.strip() for directive in response["Cache-Control"].split(",")}
    assert {"no-store", "private", "max-age=0"} <= directives, f"{url}: {response['Cache-Control']}"


@pytest.mark.django_db
def test_every_url_that_carries_a_token_is_never_stored(partner):
    """Walks the URLconf, so a new URL taking a token (pay, sign-in and invitation links, password
    resets) is covered without being listed here. Made-up tokens draw the dead-link pages."""
    values = {"token": "x" * 43, "uidb64": "MQ", "partner_slug": partner.slug, "invoice_id": 1}
    routes = [
        (pattern.name, ROUTE_ARGUMENT.findall(route)) for pattern, route in walk(get_resolver().url_patterns)
    ]
    secret_urls = [
        reverse(name, kwargs={argument: values[argument] for argument in arguments})
        for name, arguments in routes
        if {"token", "uidb64"} & set(arguments)
    ]
    assert len(secret_urls) >= 8
    for url in secret_urls:
        assert_never_stored(Client().get(url), url)


@pytest.mark.django_db
def test_pages_showing_a_live_secret_are_never_stored(partner, owner, django_capture_on_commit_callbacks):
    owner_client = client_for(owner)
    customer = customer_for(partner, email="alice@acme.example")
    card_for(customer)
    draft = make_invoice(partner, customer=customer, finalize=False)
    detail = owner_client.post(reverse("invoice_finalize", args=[draft.pk]), follow=True)
    assert "shown only now; Reissue pay link makes a new one" in detail.content.decode()
    assert_never_stored(detail, "invoice page after Finalize")

    InvitationFactory(partner=partner, email="sam@example.com", token="tok-sam")
    invitation = reverse("invitation_accept", kwargs={"token": "tok-sam"})
    assert "Choose a password" in Client().get(invitation).content.decode()
    assert_never_stored(Client().get(invitation), "invitation")
    assert_never_stored(client_for(owner).get(invitation), "invitation, signed in")

    token = make_invoice(partner, customer=customer).fresh_pay_url.rstrip("/").rsplit("/", 1)[-1]
    client = Client()
    for name in ("pay_page", "pay_confirm"):
        url = reverse(name, kwargs={"token": token})
        assert client.get(url).status_code == 200
        assert_never_stored(client.get(url), url)
    for url in (reverse("pay_lookup"), reverse("portal_sign_in", kwargs={"partner_slug": partner.slug})):
        assert_never_stored(client.get(url), url)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("portal_sign_in", kwargs={"partner_slug": partner.slug}), {"email": customer.email}
        )
    link = re.search(r"https?://[^/\s]+(/pay/\S+/)", mail.outbox[-1].body).group(1)
    assert_never_stored(client.get(link), "sign-in link")
    client.post(link)
    assert_never_stored(
        client.get(reverse("portal_invoices", kwargs={"partner_slug": partner.slug})), "portal"
    )
