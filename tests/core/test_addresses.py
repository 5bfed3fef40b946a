import pytest

from core.addresses import address_lines


@pytest.mark.parametrize(
    ("parts", "lines"),
    [
        (
            {"line1": "200 Congress Ave", "city": "Austin", "region": "TX", "postal_code": "78701",
             "country": "US"},
            ["200 Congress Ave", "Austin, TX 78701", "United States"],
        ),
        (
            {"line1": "10 Downing St", "city": "London", "postal_code": "SW1A 2AA", "country": "gb"},
            ["10 Downing St", "London", "SW1A 2AA", "United Kingdom"],
        ),
        (
            {"line1": "Unter den Linden 1", "city": "Berlin", "postal_code": "10117", "country": "DE"},
            ["Unter den Linden 1", "10117 Berlin", "Germany"],
        ),
        ({"city": "Austin", "country": "US"}, ["Austin", "United States"]),
        ({"line1": "1 Main St"}, ["1 Main St"]),
        ({"city": "Tokyo", "region": "Tokyo-to", "postal_code": "100-0001", "country": "JP"},
         ["100-0001 Tokyo", "Tokyo-to", "JP"]),
    ],
)  # fmt: skip
def test_addresses_follow_their_countrys_order(parts, lines):
    assert address_lines(**parts) == lines
