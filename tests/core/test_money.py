from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

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


def lines(*rows: tuple[str, int, str]) -> list[money.LineAmounts]:
    return [
        money.line_amounts(quantity=Decimal(q), unit_price=price, tax_rate=Decimal(rate))
        for q, price, rate in rows
    ]


def test_tax_is_computed_per_rate_on_the_summed_base_of_that_rate():
    # Two lines of $290.00 at 8.25%: 23.925 each would round to 23.93 twice ($47.86), but the invoice
    # prints "Tax (8.25% on $580.00)", and 8.25% of $580.00 is $47.85.
    totals = money.invoice_totals(lines(("1", 29_000, "8.25"), ("1", 29_000, "8.25"), ("1", 1_000, "0")))
    assert totals.taxes == (money.TaxLine(rate=Decimal("8.25"), base=58_000, tax=4_785),)
    assert (totals.subtotal, totals.tax, totals.total) == (59_000, 4_785, 63_785)
    assert totals.line_taxes == (2_393, 2_392, 0)  # each line's share; together the rate's tax


def test_each_rate_is_its_own_figure_lowest_first():
    totals = money.invoice_totals(lines(("1", 10, "5"), ("1", 10, "5"), ("1", 10, "5"), ("2", 100, "20")))
    assert [(tax.rate, tax.base, tax.tax) for tax in totals.taxes] == [
        (Decimal(5), 30, 2),  # 1.5 cents rounds half-up once, not 0.5 three times
        (Decimal(20), 200, 40),
    ]
    assert totals.total == 230 + 42


def test_fractional_quantities_round_half_up_to_the_minor_unit():
    line = money.line_amounts(quantity=Decimal("2.5"), unit_price=333, tax_rate=Decimal("8.25"))
    assert line.amount == 833  # 832.5 -> 833
    assert money.invoice_totals([line]).tax == 69  # 68.72 -> 69


def test_a_quantity_is_priced_at_the_precision_it_is_stored_with():
    # 1.0005 is stored as 1.001 (3 decimals): it is priced as 1.001 too, never as 1.0005.
    line = money.line_amounts(quantity=Decimal("1.0005"), unit_price=100_000_000, tax_rate=Decimal(0))
    assert (line.quantity, line.amount) == (Decimal("1.001"), 100_100_000)


rates = st.sampled_from(["0", "5", "7.5", "8.25", "8.875", "19", "20", "0.0001", "100"])
rows = st.lists(
    st.tuples(
        st.decimals(min_value="0.001", max_value="100000", places=3),
        st.integers(min_value=0, max_value=10**9),
        rates,
    ),
    max_size=30,
)


@given(rows)
def test_every_printed_tax_is_its_rate_times_its_printed_base(typed):
    totals = money.invoice_totals(lines(*((str(q), price, rate) for q, price, rate in typed)))
    for tax in totals.taxes:
        assert tax.tax == money.round_half_up(Decimal(tax.base) * tax.rate / 100)
    assert totals.tax == sum(tax.tax for tax in totals.taxes)
    assert totals.total == totals.subtotal + totals.tax
    # What is printed from the stored lines (amount and tax share per line) is the same figures.
    stored = [
        (line.tax_rate, line.amount, share)
        for line, share in zip(
            lines(*((str(q), price, rate) for q, price, rate in typed)), totals.line_taxes, strict=True
        )
    ]
    assert money.printed_taxes(stored) == list(totals.taxes)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("", Decimal(1)),
        ("2.5", Decimal("2.5")),
        ("2,5", Decimal("2.5")),
        (" 3 ", Decimal(3)),
        ("999999999.999", Decimal("999999999.999")),
        ("0.001", Decimal("0.001")),
        ("1.5000", Decimal("1.5")),
    ],
)
def test_typed_quantities(text, value):
    assert money.parse_quantity(text) == value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("two", "Enter a quantity, like 1 or 2.5."),
        ("1.0005", "Quantities have at most 3 decimals."),
        ("999999999.9999", "Quantities have at most 3 decimals."),
        ("1000000000", "The quantity must be less than 1,000,000,000."),
        ("1e400", "The quantity must be less than 1,000,000,000."),
        ("9" * 30, "The quantity must be less than 1,000,000,000."),
        ("1e-400", "Quantities have at most 3 decimals."),
        ("0", "The quantity must be greater than zero."),
        ("-1", "The quantity must be greater than zero."),
        ("NaN", "Enter a quantity, like 1 or 2.5."),
        ("-Infinity", "Enter a quantity, like 1 or 2.5."),
        ("sNaN", "Enter a quantity, like 1 or 2.5."),
        ("\u0663", "Enter a quantity, like 1 or 2.5."),  # an Arabic-Indic 3, which Decimal() would take
        ("1" * 41, "Enter a quantity, like 1 or 2.5."),
    ],
)
def test_impossible_quantities_are_refused_in_words(text, message):
    with pytest.raises(money.MoneyError) as raised:
        money.parse_quantity(text)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("150", "The tax rate must be between 0 and 100%."),
        ("1e400", "The tax rate must be between 0 and 100%."),
        ("-0.5", "The tax rate must be between 0 and 100%."),
        ("8.12345", "Tax rates have at most 4 decimals."),
        ("Infinity", "Enter a tax rate in %, like 8.25."),
        ("eight", "Enter a tax rate in %, like 8.25."),
    ],
)
def test_impossible_tax_rates_are_refused_in_words(text, message):
    with pytest.raises(money.MoneyError) as raised:
        money.parse_tax_rate(text)
    assert str(raised.value) == message


@pytest.mark.parametrize("text", ["1e400", "9" * 30, "999999999999999.99", "1E+16", "-Infinity", "\u0661"])
def test_huge_and_non_finite_amounts_are_refused(text):
    with pytest.raises(money.MoneyError):
        money.parse_amount(text, "USD")


def test_no_floats_anywhere_in_totals():
    totals = money.invoice_totals(
        [money.line_amounts(quantity=Decimal("0.1"), unit_price=3, tax_rate=Decimal("0"))]
    )
    assert isinstance(totals.total, int)
