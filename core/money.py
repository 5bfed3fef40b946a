"""Every rule of money in one place: currencies, parsing, formatting, line and invoice totals.

Amounts are integers in the currency's minor unit (cents for USD, yen for JPY, fils for KWD), stored
beside their currency. Never floats. Quantities and tax rates are Decimals.

Quantities and tax rates have one precision each, defined here and used by the model columns, the
forms, pricing and display alike (QUANTITY_PLACES, TAX_RATE_PLACES): what is priced is what is stored.

Tax is computed per rate on the summed base of that rate, rounded half-up (0.5 away from zero), and an
invoice's tax is the sum of its rates' taxes: each printed "Tax (8.25% on $580.00) $47.85" is its rate
times its printed base, which an accountant can check (decision 0030). Each line keeps its share of its
rate's tax, so the shares add up to the printed figures.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation

# ISO 4217 minor-unit exponents of the currencies partners can choose (partners.models.CURRENCY_CHOICES).
CURRENCY_EXPONENTS = {
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "CAD": 2,
    "AUD": 2,
    "NZD": 2,
    "CHF": 2,
    "JPY": 0,
    "KWD": 3,
}
CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "CAD": "CA$", "AUD": "A$", "NZD": "NZ$", "JPY": "¥"}
MAX_AMOUNT_MINOR = 10**13  # 100 billion in a 2-decimal currency: far above any invoice, far below BIGINT

# The columns of quantities and tax rates (invoice and recurring lines): digits in all, and decimals.
QUANTITY_DIGITS, QUANTITY_PLACES = 12, 3
TAX_RATE_DIGITS, TAX_RATE_PLACES = 7, 4
MAX_QUANTITY = Decimal(10) ** (QUANTITY_DIGITS - QUANTITY_PLACES)  # 1,000,000,000: the first one too big
MAX_TAX_RATE = Decimal(100)
MAX_TYPED = 40  # characters of a typed number; a longer one is not a number anyone means


class MoneyError(ValueError):
    """An amount a person typed that cannot be money in that currency; the message says why."""


def exponent(currency: str) -> int:
    return CURRENCY_EXPONENTS[currency]


def round_half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def parse_amount(text: str, currency: str) -> int:
    """'1,250.50' in USD -> 125050. Refuses more decimals than the currency has, and negatives."""
    cleaned = (text or "").strip().replace(",", "").replace(" ", "")
    for symbol in (*CURRENCY_SYMBOLS.values(), currency):
        cleaned = cleaned.replace(symbol, "")
    value = _typed_decimal(cleaned, unreadable="Enter an amount, like 1250.00.")
    if value.adjusted() > 15:
        raise MoneyError("That amount is too large.")
    places = exponent(currency)
    if value != value.quantize(Decimal(1).scaleb(-places)):
        raise MoneyError(
            f"{currency} amounts have no decimals."
            if places == 0
            else f"{currency} amounts have at most {places} decimals."
        )
    if value < 0:
        raise MoneyError("Enter a positive amount.")
    minor = int(value.scaleb(places))
    if minor >= MAX_AMOUNT_MINOR:
        raise MoneyError("That amount is too large.")
    return minor


def parse_quantity(text: str) -> Decimal:
    """'2.5' -> Decimal('2.500'); empty is 1. More than 0, less than a billion, at most 3 decimals."""
    value = _typed_decimal(_decimal_comma(text) or "1", unreadable="Enter a quantity, like 1 or 2.5.")
    if value <= 0:
        raise MoneyError("The quantity must be greater than zero.")
    if value >= MAX_QUANTITY:
        raise MoneyError(f"The quantity must be less than {MAX_QUANTITY:,}.")
    return _at_most_places(value, QUANTITY_PLACES, "Quantities")


def parse_tax_rate(text: str) -> Decimal:
    """'8.25' (percent) -> Decimal('8.2500'); empty is 0. From 0 to 100, at most 4 decimals."""
    value = _typed_decimal(_decimal_comma(text) or "0", unreadable="Enter a tax rate in %, like 8.25.")
    if not 0 <= value <= MAX_TAX_RATE:
        raise MoneyError("The tax rate must be between 0 and 100%.")
    return _at_most_places(value, TAX_RATE_PLACES, "Tax rates")


def _decimal_comma(text: str) -> str:
    """Quantities and rates are small numbers: '2,5' means 2.5 (a comma is never a thousands separator)."""
    return (text or "").strip().replace(" ", "").replace(",", ".")


def _typed_decimal(text: str, *, unreadable: str) -> Decimal:
    """A finite Decimal written in ASCII, or MoneyError(unreadable). Decimal() alone would also take
    'NaN', 'Infinity' and non-ASCII digits such as '٣'."""
    if not text.isascii() or len(text) > MAX_TYPED:
        raise MoneyError(unreadable)
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise MoneyError(unreadable) from None
    if not value.is_finite():
        raise MoneyError(unreadable)
    return value


def _at_most_places(value: Decimal, places: int, what: str) -> Decimal:
    """`value` at its column's precision; refused when that would drop a digit that was typed. The
    caller has bounded the value, so quantizing it stays within Decimal's precision."""
    step = Decimal(1).scaleb(-places)
    if value != value.quantize(step):
        raise MoneyError(f"{what} have at most {places} decimals.")
    return value.quantize(step)


def quantize_quantity(value: Decimal | int | str) -> Decimal:
    """A quantity at the precision it is stored with (half-up), for rows that did not come from a form."""
    return Decimal(value).quantize(Decimal(1).scaleb(-QUANTITY_PLACES), rounding=ROUND_HALF_UP)


def quantize_tax_rate(value: Decimal | int | str) -> Decimal:
    return Decimal(value).quantize(Decimal(1).scaleb(-TAX_RATE_PLACES), rounding=ROUND_HALF_UP)


def format_number(value: Decimal) -> str:
    """How a quantity or a rate reads: 2.000 -> '2', 8.2500 -> '8.25', 10 -> '10' (never '1E+1')."""
    return f"{Decimal(value).normalize():f}"


def format_rate(value: Decimal) -> str:
    """'8.25%'."""
    return f"{format_number(value)}%"


def to_decimal(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-exponent(currency))


def format_plain(minor: int, currency: str) -> str:
    """'1250.50': for form fields, where a person edits the number."""
    places = exponent(currency)
    return f"{to_decimal(minor, currency):.{places}f}"


def format_money(minor: int, currency: str, *, compact: bool = False) -> str:
    """How an amount reads everywhere a person sees one (pages through the `money` filter, emails, PDFs,
    messages): '$1,250.50', 'KWD 1.250', '¥1,250'. Compact, short enough to sit above a narrow chart
    column: '$12.3k', '€1.2M', '¥950'."""
    number = _compact_number(abs(minor), currency) if compact else _full_number(abs(minor), currency)
    sign = "-" if minor < 0 else ""
    symbol = CURRENCY_SYMBOLS.get(currency)
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{currency} {number}"


def _full_number(minor: int, currency: str) -> str:
    places = exponent(currency)
    whole, fraction = divmod(minor, 10**places)  # integers: exact, and cheap on long lists
    return f"{whole:,}.{fraction:0{places}d}" if places else f"{whole:,}"


def _compact_number(minor: int, currency: str) -> str:
    value = to_decimal(minor, currency)
    for limit, suffix in ((Decimal(10**9), "B"), (Decimal(10**6), "M"), (Decimal(10**3), "k")):
        if value >= limit:
            return f"{value / limit:.1f}{suffix}"
    return f"{value:.0f}"


@dataclass(frozen=True)
class LineAmounts:
    quantity: Decimal  # at the stored precision: what is priced is what is stored
    amount: int  # quantity x unit price, rounded half-up to the minor unit
    tax_rate: Decimal  # percent, at the stored precision


@dataclass(frozen=True)
class TaxLine:
    """One printed tax figure: `tax` is `rate` percent of `base`, rounded half-up."""

    rate: Decimal
    base: int
    tax: int


@dataclass(frozen=True)
class Totals:
    subtotal: int
    tax: int
    total: int
    taxes: tuple[TaxLine, ...] = ()  # one per non-zero rate, lowest rate first
    line_taxes: tuple[int, ...] = ()  # each line's share of its rate's tax, in the lines' order


def line_amounts(*, quantity: Decimal, unit_price: int, tax_rate: Decimal) -> LineAmounts:
    priced = quantize_quantity(quantity)
    return LineAmounts(
        quantity=priced, amount=round_half_up(priced * unit_price), tax_rate=quantize_tax_rate(tax_rate)
    )


def tax_on(base: int, rate: Decimal) -> int:
    return round_half_up(Decimal(base) * Decimal(rate) / 100)


def invoice_totals(lines: Iterable[LineAmounts]) -> Totals:
    """The only place an invoice's totals are added up: tax per rate on that rate's summed base."""
    lines = list(lines)
    bases: dict[Decimal, int] = defaultdict(int)
    for line in lines:
        if line.tax_rate:
            bases[line.tax_rate] += line.amount
    taxes = tuple(
        TaxLine(rate=rate, base=base, tax=tax_on(base, rate)) for rate, base in sorted(bases.items())
    )
    subtotal = sum(line.amount for line in lines)
    tax = sum(line.tax for line in taxes)
    return Totals(
        subtotal=subtotal, tax=tax, total=subtotal + tax, taxes=taxes, line_taxes=_line_shares(lines, taxes)
    )


def _line_shares(lines: list[LineAmounts], taxes: tuple[TaxLine, ...]) -> tuple[int, ...]:
    """Each line's part of its rate's tax: the exact part rounded down, and the cents left over given to
    the lines with the largest remainders (the first of equals), so a rate's shares add up to its tax."""
    exact = [Decimal(line.amount) * line.tax_rate / 100 for line in lines]
    shares = [int(value.to_integral_value(rounding=ROUND_FLOOR)) for value in exact]
    for tax in taxes:
        members = [i for i, line in enumerate(lines) if line.tax_rate == tax.rate]
        left = tax.tax - sum(shares[i] for i in members)
        for i in sorted(members, key=lambda i: shares[i] - exact[i])[:left]:
            shares[i] += 1
    return tuple(shares)


def printed_taxes(lines: Iterable[tuple[Decimal, int, int]]) -> list[TaxLine]:
    """The tax figures of stored lines, given as (rate, amount, tax share): one per non-zero rate, its
    base and the sum of its lines' shares. For an invoice totalled by `invoice_totals` each figure is
    its rate times its base; older invoices keep the per-line rounding they were issued with."""
    sums: dict[Decimal, list[int]] = defaultdict(lambda: [0, 0])
    for rate, amount, share in lines:
        if rate:
            sums[rate][0] += amount
            sums[rate][1] += share
    return [TaxLine(rate=rate, base=base, tax=tax) for rate, (base, tax) in sorted(sums.items())]
