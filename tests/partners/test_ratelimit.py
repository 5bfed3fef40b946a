"""Per-address limits count against the client's real address, which the client cannot choose."""

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from partners.ratelimit import client_ip

PROXY = "10.0.0.2"
CLIENT = "198.51.100.7"


def ip_of(settings, *, forwarded: str | None, remote: str = PROXY, proxies: int = 1, behind: bool = True):
    settings.USE_X_FORWARDED_FOR = behind
    settings.TRUSTED_PROXY_COUNT = proxies
    headers = {} if forwarded is None else {"HTTP_X_FORWARDED_FOR": forwarded}
    return client_ip(RequestFactory().get("/", REMOTE_ADDR=remote, **headers))


def test_without_proxies_the_header_is_the_clients_and_ignored(settings):
    assert ip_of(settings, forwarded="203.0.113.1", remote=CLIENT, behind=False) == CLIENT


@pytest.mark.parametrize(
    ("forwarded", "proxies"),
    [
        (CLIENT, 1),  # nothing written by the client: our proxy's one entry
        (f"203.0.113.1, {CLIENT}", 1),  # the client wrote the left-most entry itself
        (f"203.0.113.1,203.0.113.2 ,, {CLIENT}", 1),
        (f"203.0.113.1, {CLIENT}, 10.0.0.1", 2),  # a load balancer, then our proxy
        (CLIENT, 2),  # reached the inner proxy directly: its one entry is still the client's
    ],
)
def test_behind_proxies_the_entry_they_added_is_the_clients(settings, forwarded, proxies):
    assert ip_of(settings, forwarded=forwarded, proxies=proxies) == CLIENT


def test_behind_a_proxy_that_sent_no_header_the_socket_address_counts(settings):
    assert ip_of(settings, forwarded=None, remote=CLIENT) == CLIENT
    assert ip_of(settings, forwarded=" , ", remote=CLIENT) == CLIENT


def test_an_ipv6_client_counts_by_its_64_block(settings):
    one = ip_of(settings, forwarded="2001:db8:1:2::1", behind=True)
    assert one == ip_of(settings, forwarded="2001:db8:1:2:ffff:ffff:ffff:ffff") == "2001:db8:1:2::/64"
    assert one != ip_of(settings, forwarded="2001:db8:1:3::1")
    assert ip_of(settings, forwarded=f"::ffff:{CLIENT}") == CLIENT


@pytest.mark.django_db
def test_a_fresh_left_most_entry_per_attempt_does_not_reset_the_sign_in_limit(settings):
    """The attack: one client rotates the X-Forwarded-For it sends, and each guess is at another email."""
    settings.USE_X_FORWARDED_FOR, settings.TRUSTED_PROXY_COUNT = True, 1
    limit = int(settings.SIGN_IN_RATE_LIMIT.split("/")[0])
    client = Client(REMOTE_ADDR=PROXY)
    for n in range(limit + 1):
        response = client.post(
            reverse("login"),
            {"username": f"someone{n}@example.com", "password": "guess"},
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}, {CLIENT}",
        )
    assert "Too many sign-in attempts" in response.content.decode()
    other = Client(REMOTE_ADDR=PROXY).post(
        reverse("login"),
        {"username": "someone-else@example.com", "password": "guess"},
        HTTP_X_FORWARDED_FOR="198.51.100.8",
    )
    assert "Too many sign-in attempts" not in other.content.decode()  # another client behind the proxy
