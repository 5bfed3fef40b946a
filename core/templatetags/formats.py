"""{% load formats %}: {{ invoice.total|money:invoice.currency }}, {{ line.quantity|number }},
{{ tax.rate|rate }}, {{ invoice.due_date|day }},
{{ event.created_at|moment }}; the one way each reads (core.money, core.formats)."""

from django import template

from core import formats
from core.money import format_money, format_number, format_rate

register = template.Library()


@register.filter
def money(amount_minor, currency: str) -> str:
    """{{ invoice.total|money:invoice.currency }} -> "$1,250.00"."""
    if amount_minor is None or amount_minor == "":
        return ""
    return format_money(int(amount_minor), currency)


@register.filter
def number(value) -> str:
    """{{ line.quantity|number }} -> "2.5" (2.500 as stored), "100" (never "1E+2")."""
    return "" if value is None or value == "" else format_number(value)


@register.filter
def rate(value) -> str:
    """{{ line.tax_rate|rate }} -> "8.25%"."""
    return "" if value is None or value == "" else format_rate(value)


@register.filter
def day(value, shape: str = "") -> str:
    """{{ invoice.due_date|day }} -> "Nov 21, 2026"; {{ date|day:"weekday" }} -> "Sat, Nov 21, 2026"."""
    if shape not in ("", "weekday"):
        raise template.TemplateSyntaxError(f'day takes no shape or "weekday", not {shape!r}')
    return formats.format_day(value or None, weekday=shape == "weekday")


@register.filter
def moment(value) -> str:
    """{{ event.created_at|moment }} -> "Nov 21, 2026, 3:05 PM" where the partner is."""
    return formats.format_moment(value or None)
