"""Mistakes in templates that render without an error but show on the page."""

import re
from pathlib import Path

from django.conf import settings

TEMPLATES = Path(settings.BASE_DIR) / "templates"


def test_no_template_has_a_comment_over_several_lines():
    # Django's {# #} comments end at the line: one that goes on is printed, braces and all.
    broken = [
        f"{path.relative_to(TEMPLATES)}:{number}"
        for path in sorted(TEMPLATES.rglob("*.*"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if re.search(r"\{#(?!.*#\})", line)
    ]
    assert broken == [], "use {% comment %} for these: " + ", ".join(broken)
