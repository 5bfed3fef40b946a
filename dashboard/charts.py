"""The geometry of the report charts, drawn as SVG by templates/invoicing/reports/_*_chart.html.

Server-rendered, no chart library: a bar chart is a few rectangles whose positions are computed here. The
CSP forbids style="" (inline SVG included), so the templates use presentation attributes (x=, width=)
and classes from static/css/reports.css. Every bar carries its value as text beside it, so the chart
reads without colour; each chart also has a table with the same numbers (and the links).
"""

from dataclasses import dataclass

WIDTH = 640


@dataclass
class Bar:
    label: str
    value_label: str
    css: str
    x: float
    y: float
    width: float
    height: float
    label_x: float
    label_y: float
    value_x: float
    value_y: float


@dataclass
class Chart:
    width: int
    height: int
    bars: list[Bar]
    axis_y: float = 0  # the baseline of a column chart


def horizontal_bars(rows: list[tuple[str, int, str, str]], *, label_width: int = 110) -> Chart:
    """One bar per row, (label, value, value label, css class); the value is written after the bar."""
    row_height, bar_height, value_room = 34, 22, 190
    top = 6
    largest = max((value for _, value, _, _ in rows), default=0) or 1
    room = WIDTH - label_width - value_room
    bars = []
    for index, (label, value, value_label, css) in enumerate(rows):
        y = top + index * row_height
        width = round(room * value / largest, 1) if value > 0 else 0
        bars.append(
            Bar(
                label=label,
                value_label=value_label,
                css=css,
                x=label_width,
                y=y,
                width=max(width, 2 if value > 0 else 0),
                height=bar_height,
                label_x=label_width - 8,
                label_y=y + bar_height * 0.7,
                value_x=label_width + width + 8,
                value_y=y + bar_height * 0.7,
            )
        )
    return Chart(width=WIDTH, height=top * 2 + row_height * len(rows), bars=bars)


def columns(rows: list[tuple[str, int, str]], *, height: int = 220) -> Chart:
    """One column per row, (label under it, value, value label above it), e.g. weeks of cash received."""
    top, bottom, left = 22, 26, 4
    plot = height - top - bottom
    slot = (WIDTH - left) / max(len(rows), 1)
    largest = max((value for _, value, _ in rows), default=0) or 1
    bars = []
    for index, (label, value, value_label) in enumerate(rows):
        bar_height = round(plot * value / largest, 1) if value > 0 else 0
        bar_height = max(bar_height, 2) if value > 0 else 0
        x = left + index * slot + slot * 0.15
        centre = left + index * slot + slot / 2
        bars.append(
            Bar(
                label=label,
                value_label=value_label,
                css="bar-cash",
                x=round(x, 1),
                y=top + plot - bar_height,
                width=round(slot * 0.7, 1),
                height=bar_height,
                label_x=round(centre, 1),
                label_y=height - 8,
                value_x=round(centre, 1),
                value_y=top + plot - bar_height - 6,
            )
        )
    return Chart(width=WIDTH, height=height, bars=bars, axis_y=top + plot)
