"""How a day and a moment read everywhere a person sees one: pages (the `day` and `moment` filters of
{% load formats %}), emails, PDFs and the messages services write. Amounts read the same way through
core.money.format_money (the `money` filter).

The app speaks English; its month and weekday names are written here rather than taken from the C
library's locale (strftime's %b) or Django's translations, so a page, a PDF and an email never differ.
Machine formats are not this: CSV exports and form fields carry ISO dates.
"""

import datetime

from django.utils import timezone

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def format_day(value: datetime.date | None, *, weekday: bool = False, year: bool = True) -> str:
    """'Nov 21, 2026'; 'Sat, Nov 21, 2026' with the weekday (a schedule's dates); 'Nov 21' without the
    year (a chart's narrow columns); '' for no date. A moment is read as its day in the current time
    zone (the partner's, on their pages)."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        value = _local(value)
    text = f"{MONTHS[value.month - 1]} {value.day}"
    if year:
        text = f"{text}, {value.year}"
    return f"{WEEKDAYS[value.weekday()]}, {text}" if weekday else text


def format_moment(value: datetime.datetime | None) -> str:
    """'Nov 21, 2026, 3:05 PM' in the current time zone (the partner's, on their pages); '' for none."""
    if value is None:
        return ""
    value = _local(value)
    hour = value.hour % 12 or 12
    return f"{format_day(value)}, {hour}:{value.minute:02d} {'AM' if value.hour < 12 else 'PM'}"


def _local(value: datetime.datetime) -> datetime.datetime:
    return timezone.localtime(value) if timezone.is_aware(value) else value
