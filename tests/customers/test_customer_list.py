import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customers(partner, other_partner):
    CustomerFactory(partner=partner, name="Jane Fielding", company="Acme Robotics", email="jane@acme.example")
    CustomerFactory(partner=partner, name="Omar Haddad", company="Globex", email="omar@globex.example")
    CustomerFactory(partner=partner, name="Li Wei", company="", email="accounts@initech.example")
    CustomerFactory(
        partner=other_partner, name="Jane Elsewhere", company="Acme Rivals", email="jane@rival.example"
    )


def names_listed(response) -> list[str]:
    body = response.content.decode()
    return [name for name in ("Jane Fielding", "Omar Haddad", "Li Wei", "Jane Elsewhere") if name in body]


def test_the_list_shows_the_partners_customers_by_name(owner_client, customers):
    response = owner_client.get(reverse("customer_list"))
    body = response.content.decode()
    assert names_listed(response) == ["Jane Fielding", "Omar Haddad", "Li Wei"]
    assert body.index("Jane Fielding") < body.index("Li Wei") < body.index("Omar Haddad")
    assert "3 customers" in body
    for shown in ("Acme Robotics", "omar@globex.example"):
        assert shown in body


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("fiel", ["Jane Fielding"]),  # name
        ("GLOBEX", ["Omar Haddad"]),  # company, any case
        ("initech", ["Li Wei"]),  # email
        ("jane acme", ["Jane Fielding"]),  # every word must match somewhere
        ("acme omar", []),
    ],
)
def test_search_matches_name_company_or_email(owner_client, customers, query, expected):
    response = owner_client.get(reverse("customer_list"), {"q": query})
    assert names_listed(response) == expected
    if not expected:
        assert f"No customers match “{query}”." in response.content.decode()


def test_the_search_works_without_javascript(owner_client, customers):
    body = owner_client.get(reverse("customer_list"), {"q": "globex"}).content.decode()
    assert '<form method="get" action="/customers/" role="search"' in body
    assert 'name="q" value="globex"' in body
    assert '<button type="submit" class="button button-secondary js-hide">Search</button>' in body


def test_typing_in_the_search_box_swaps_only_the_results(owner_client, customers):
    response = owner_client.get(reverse("customer_list"), {"q": "globex"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert "<html" not in body
    assert 'role="search"' not in body
    assert names_listed(response) == ["Omar Haddad"]
    assert "HX-Request" in response["Vary"]


def test_going_back_to_a_searched_list_gets_the_whole_page(owner_client, customers):
    response = owner_client.get(
        reverse("customer_list"),
        {"q": "globex"},
        headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
    )
    body = response.content.decode()
    assert "<html" in body
    assert names_listed(response) == ["Omar Haddad"]


def test_archived_customers_are_listed_only_when_asked_for(owner_client, partner, customers):
    CustomerFactory(partner=partner, name="Ada Archived", archived_at=timezone.now())
    assert "Ada Archived" not in owner_client.get(reverse("customer_list")).content.decode()
    shown = owner_client.get(reverse("customer_list"), {"archived": "1"}).content.decode()
    assert "Ada Archived" in shown
    assert 'name="archived" value="1" checked' in shown


def test_the_list_has_50_customers_a_page_and_pages_keep_the_search(owner_client, partner):
    CustomerFactory.create_batch(51, partner=partner, company="Umbrella")
    CustomerFactory(partner=partner, name="Zz Other Co")
    first = owner_client.get(reverse("customer_list"), {"q": "umbrella"}).content.decode()
    assert first.count("<td>Umbrella</td>") == 50
    assert "51 customers" in first
    assert "Page 1 of 2" in first
    assert 'href="/customers/?q=umbrella&amp;page=2" rel="next"' in first
    second = owner_client.get(reverse("customer_list"), {"q": "umbrella", "page": "2"}).content.decode()
    assert second.count("<td>Umbrella</td>") == 1
    assert "Zz Other Co" not in second


def test_a_partner_without_customers_is_invited_to_add_one(owner_client):
    body = owner_client.get(reverse("customer_list")).content.decode()
    assert "No customers yet." in body
    assert 'href="/customers/new/"' in body
