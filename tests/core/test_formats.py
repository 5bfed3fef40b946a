"""The one way a day, a moment and an amount read, in Python and in templates."""

import datetime
import zoneinfo

import pytest
from django.template import Context, Template, TemplateSyntaxError
from django.utils import timezone

from core.formats import format_day, format_moment

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("options", "text"),
    [({}, "Nov 21, 2026"), ({"weekday": True}, "Sat, Nov 21, 2026"), ({"year": False}, "Nov 21")],
)
def test_a_day_reads_the_same_in_each_shape(options, text):
    assert format_day(datetime.date(2026, 11, 21), **options) == text


def test_single_digit_days_have_no_leading_zero_and_no_day_is_empty():
    assert format_day(datetime.date(2026, 3, 5)) == "Mar 5, 2026"
    assert format_day(None) == ""
    assert format_moment(None) == ""


@pytest.mark.parametrize(
    ("hour", "minute", "text"),
    [(0, 0, "12:00 AM"), (9, 5, "9:05 AM"), (12, 30, "12:30 PM"), (23, 59, "11:59 PM")],
)
def test_a_moment_reads_in_the_current_time_zone_on_a_twelve_hour_clock(hour, minute, text):
    moment = datetime.datetime(2026, 3, 5, hour, minute, tzinfo=NEW_YORK).astimezone(datetime.UTC)
    with timezone.override(NEW_YORK):
        assert format_moment(moment) == f"Mar 5, 2026, {text}"
        assert format_day(moment) == "Mar 5, 2026"  # 04:00 to 04:59 UTC on Mar 6 for the late ones


def render(source: str, **context) -> str:
    return Template("{% load formats %}" + source).render(Context(context))


def test_templates_read_through_the_same_functions():
    late = datetime.datetime(2026, 3, 6, 4, 30, tzinfo=datetime.UTC)  # Mar 5, 11:30 PM in New York
    with timezone.override(NEW_YORK):
        text = render(
            "{{ d|day }} / {{ d|day:'weekday' }} / {{ t|moment }} / {{ t|day }} / {{ a|money:'EUR' }}",
            d=datetime.date(2026, 11, 21), t=late, a=123456,
        )  # fmt: skip
    assert text == "Nov 21, 2026 / Sat, Nov 21, 2026 / Mar 5, 2026, 11:30 PM / Mar 5, 2026 / €1,234.56"
    assert render("{{ d|day }}{{ t|moment }}{{ a|money:'USD' }}|", d=None, t="", a=None) == "|"


def test_a_day_shape_that_does_not_exist_fails_the_page():
    with pytest.raises(TemplateSyntaxError, match="weekdays"):
        render("{{ d|day:'weekdays' }}", d=datetime.date(2026, 11, 21))
