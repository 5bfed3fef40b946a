"""Every rule of money in one place: currencies, parsing, formatting, line and invoice totals.

Amounts are integers in the currency's minor unit (cents for USD, yen for JPY, fils for KWD), stored
beside their currency. Never floats. Quantities and tax rates are Decimals.

Tax is computed and rounded per line, half-up (0.5 rounds away from zero), and an invoice's tax is the
sum of its lines' rounded taxes. This is what a customer can re-add from the printed lines, and it is
the rule most tax authorities accept for itemised invoices.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

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
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise MoneyError("Enter an amount, like 1250.00.") from None
    if not value.is_finite():
        raise MoneyError("Enter an amount, like 1250.00.")
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
    amount: int  # quantity x unit price, rounded half-up to the minor unit
    tax: int  # amount x rate, rounded half-up per line


@dataclass(frozen=True)
class Totals:
    subtotal: int
    tax: int
    total: int


def line_amounts(*, quantity: Decimal, unit_price: int, tax_rate: Decimal) -> LineAmounts:
    amount = round_half_up(Decimal(quantity) * unit_price)
    tax = round_half_up(Decimal(amount) * Decimal(tax_rate) / 100)
    return LineAmounts(amount=amount, tax=tax)


def invoice_totals(lines: Iterable[LineAmounts]) -> Totals:
    """The only place an invoice's totals are added up."""
    lines = list(lines)
    subtotal = sum(line.amount for line in lines)
    tax = sum(line.tax for line in lines)
    return Totals(subtotal=subtotal, tax=tax, total=subtotal + tax)
