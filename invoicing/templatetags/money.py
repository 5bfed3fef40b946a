from django import template

from invoicing import money as money_rules

register = template.Library()


@register.filter
def money(amount_minor, currency: str) -> str:
    """{{ invoice.total|money:invoice.currency }} -> "$1,250.00"."""
    if amount_minor is None or amount_minor == "":
        return ""
    return money_rules.format_money(int(amount_minor), currency)
