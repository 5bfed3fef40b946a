"""Rate limits: per-address limits count against the client's real address, which the client cannot
choose; counting is atomic under a burst of real threads; the admin's sign-in and password reset are
limited too; a limit whose store (Redis) is down lets people in. Card testing: test_pay_new_method.py."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.signals import user_login_failed
from django.core import mail
from django.db import connections
from django.test import Client, RequestFactory
from django.urls import reverse

from partners.ratelimit import client_ip, rate_limit_allows, rate_limit_forgive
from tests.factories import PASSWORD, UserFactory

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


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_concurrent_guesses_gets_no_more_checks_than_the_limit(settings, owner):
    """40 sign-ins at once, each on its own thread, connection and client, against a limit of 10: the
    counting is atomic, so exactly 10 passwords are checked and 30 are refused without a check."""
    settings.SIGN_IN_RATE_LIMIT = "10/900"
    burst, checked, lock = 40, [], threading.Lock()
    start = threading.Barrier(burst)

    def count_check(sender, credentials, request, **kwargs):
        with lock:
            checked.append(credentials["username"])

    def guess(n: int) -> str:
        try:
            client = Client(REMOTE_ADDR=f"203.0.113.{n}")  # a botnet: only the email is the same
            start.wait()
            response = client.post(reverse("login"), {"username": owner.email, "password": f"guess-{n}"})
            assert response.status_code == 200
            return "limited" if "Too many sign-in attempts" in response.content.decode() else "checked"
        finally:
            connections.close_all()

    user_login_failed.connect(count_check)
    try:
        with ThreadPoolExecutor(max_workers=burst) as pool:
            outcomes = list(pool.map(guess, range(burst)))
    finally:
        user_login_failed.disconnect(count_check)
    assert len(checked) == 10
    assert outcomes.count("checked") == 10
    assert outcomes.count("limited") == 30


@pytest.mark.django_db
def test_the_admin_sign_in_is_under_the_same_limit_as_the_apps(settings):
    staff = UserFactory(email="ops@platform.example", is_staff=True, is_superuser=True)
    limit = int(settings.SIGN_IN_RATE_LIMIT.split("/")[0])
    for n in range(limit):  # guessed at on both pages, from two addresses: one count per email
        page = reverse("login") if n % 2 else "/admin/login/"
        Client(REMOTE_ADDR=f"203.0.113.{n}").post(page, {"username": staff.email, "password": "guess"})
    admin = Client(REMOTE_ADDR="198.51.100.7")
    response = admin.post("/admin/login/", {"username": staff.email, "password": PASSWORD})
    assert response.status_code == 200
    assert "Too many sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in admin.session


@pytest.mark.django_db
def test_a_right_password_is_not_held_against_the_address(settings):
    """An office behind one address signs in all day: only wrong guesses use up the address's limit."""
    limit = int(settings.SIGN_IN_RATE_LIMIT.split("/")[0])
    office = [UserFactory(email=f"person{n}@northwind.example") for n in range(limit + 2)]
    for person in office:
        response = Client(REMOTE_ADDR=CLIENT).post(
            reverse("login"), {"username": person.email, "password": PASSWORD}
        )
        assert response.status_code == 302, response.content.decode()


@pytest.mark.django_db
def test_password_reset_emails_are_limited_per_target_and_per_address(settings, owner):
    settings.PASSWORD_RESET_RATE_LIMIT = "3/3600"
    for n in range(5):  # five addresses asking for one account's reset
        response = Client(REMOTE_ADDR=f"203.0.113.{n}").post(
            reverse("password_reset"), {"email": owner.email}
        )
    assert len(mail.outbox) == 3
    assert response.status_code == 200
    assert "Too many reset requests" in response.content.decode()

    mail.outbox.clear()
    others = [UserFactory(email=f"person{n}@northwind.example") for n in range(5)]
    for person in others:  # one address asking for five accounts' resets
        response = Client(REMOTE_ADDR=CLIENT).post(reverse("password_reset"), {"email": person.email})
    assert len(mail.outbox) == 3
    assert "Too many reset requests" in response.content.decode()


def test_a_limit_whose_store_is_down_lets_people_in_and_says_so(settings, caplog):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    with caplog.at_level("WARNING", logger="partners.ratelimit"):
        assert rate_limit_allows(scope="sign-in", keys=["ip:198.51.100.7"], rate="1/900")
        rate_limit_forgive(scope="sign-in", keys=["ip:198.51.100.7"])
    assert "Rate limit store unavailable; allowing sign-in" in caplog.text
    assert "could not forgive sign-in" in caplog.text
