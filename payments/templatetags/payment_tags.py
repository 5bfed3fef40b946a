import datetime

from django import template

from customers.models import PaymentMethod

register = template.Library()


@register.filter
def expired_on(method: PaymentMethod, day: datetime.date) -> bool:
    """{% if method|expired_on:today %}: a card works to the end of its expiry month (partner's today)."""
    return method.is_expired_on(day)
