import pytest

from core.params import parse_id


@pytest.mark.parametrize(
    ("value", "expected"),
    [("42", 42), (42, 42), ("0", 0), ("99999999999", 99_999_999_999)],
)
def test_ascii_digits_are_read_as_a_number(value, expected):
    assert parse_id(value) == expected


@pytest.mark.parametrize("value", [None, "", " 4", "4 ", "-1", "+1", "1.0", "1e3", "²", "٣", "4" * 12, "x"])
def test_anything_else_is_none(value):
    assert parse_id(value) is None
