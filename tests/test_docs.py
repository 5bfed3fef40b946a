"""The README stays a five-minute read, and the documentation points at things that exist.

Each test reads README.md and docs/ as text: the README's length and its two commands, every relative
link (file and heading), and every `python manage.py <command>` they tell an operator to run. None needs
a database.
"""

import re
from pathlib import Path

import pytest
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = [README, ROOT / "bench" / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _anchor(heading: str) -> str:
    """GitHub's id for a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _relative_links(path: Path) -> list[str]:
    return [target for target in LINK.findall(path.read_text()) if not re.match(r"[a-z]+:", target)]


def test_the_readme_is_short_and_gives_the_two_commands():
    text = README.read_text()
    assert len(text.splitlines()) <= 150
    assert "make run" in text
    assert "make test" in text


@pytest.mark.parametrize("path", DOCS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_relative_link_points_at_a_file_and_heading_that_exist(path):
    broken = []
    for target in _relative_links(path):
        file_part, _, anchor = target.partition("#")
        destination = (path.parent / file_part).resolve() if file_part else path
        if not destination.exists():
            broken.append(target)
        elif anchor:
            headings = re.findall(r"^#+ (.+)$", destination.read_text(), flags=re.MULTILINE)
            if anchor not in {_anchor(heading) for heading in headings}:
                broken.append(target)
    assert broken == []


def test_every_command_the_docs_name_exists():
    named = {command for path in DOCS for command in re.findall(r"python manage\.py (\w+)", path.read_text())}
    assert named  # the operations page lists the commands
    assert named - set(get_commands()) == set()
