from decimal import Decimal

import pytest

from core import money


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("1250", "USD", 125000),
        ("1,250.50", "USD", 125050),
        ("$1,250.5", "USD", 125050),
        ("0.01", "USD", 1),
        ("1250", "JPY", 1250),
        ("¥1,250", "JPY", 1250),
        ("1.250", "KWD", 1250),
        ("0.001", "KWD", 1),
        ("EUR 10", "EUR", 1000),
    ],
)
def test_typed_amounts_become_exact_minor_units(text, currency, minor):
    assert money.parse_amount(text, currency) == minor


@pytest.mark.parametrize(
    ("text", "currency", "message"),
    [
        ("10.001", "USD", "at most 2 decimals"),
        ("10.5", "JPY", "JPY amounts have no decimals"),
        ("1.0001", "KWD", "at most 3 decimals"),
        ("-5", "USD", "positive"),
        ("ten", "USD", "Enter an amount"),
        ("NaN", "USD", "Enter an amount"),
        ("Infinity", "USD", "Enter an amount"),
        ("1e30", "USD", "too large"),
        ("", "USD", "Enter an amount"),
    ],
)
def test_impossible_amounts_are_refused_in_words(text, currency, message):
    with pytest.raises(money.MoneyError, match=message):
        money.parse_amount(text, currency)


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (125050, "USD", "$1,250.50"),
        (1250, "JPY", "¥1,250"),
        (1250, "KWD", "KWD 1.250"),
        (5, "EUR", "€0.05"),
        (-1999, "GBP", "-£19.99"),
        (0, "USD", "$0.00"),
        (100, "CHF", "CHF 1.00"),
        (123_456_789_012, "KWD", "KWD 123,456,789.012"),
        (-7, "KWD", "-KWD 0.007"),
    ],
)
def test_formatting_follows_the_currency_exponent(minor, currency, text):
    assert money.format_money(minor, currency) == text


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (95_000, "JPY", "¥95.0k"),
        (950, "JPY", "¥950"),
        (1_234_567, "USD", "$12.3k"),
        (123_456_789, "EUR", "€1.2M"),
        (250_000_000_000, "GBP", "£2.5B"),
        (4_999, "USD", "$50"),
        (1_500_000, "CHF", "CHF 15.0k"),
        (0, "USD", "$0"),
    ],
)
def test_compact_amounts_fit_a_chart_column(minor, currency, text):
    assert money.format_money(minor, currency, compact=True) == text


def test_tax_is_rounded_per_line_half_up():
    # 1 x $0.10 at 5% = 0.5 cent -> rounds up to 1 cent on each line.
    line = money.line_amounts(quantity=Decimal(1), unit_price=10, tax_rate=Decimal(5))
    assert line == money.LineAmounts(amount=10, tax=1)
    totals = money.invoice_totals([line, line, line])
    assert totals == money.Totals(subtotal=30, tax=3, total=33)  # per line, not round(1.5) on the sum


def test_fractional_quantities_round_half_up_to_the_minor_unit():
    line = money.line_amounts(quantity=Decimal("2.5"), unit_price=333, tax_rate=Decimal("8.25"))
    assert line.amount == 833  # 832.5 -> 833
    assert line.tax == 69  # 68.72 -> 69


def test_no_floats_anywhere_in_totals():
    totals = money.invoice_totals(
        [money.line_amounts(quantity=Decimal("0.1"), unit_price=3, tax_rate=Decimal("0"))]
    )
    assert isinstance(totals.total, int)
