"""Cursor pagination in a stable order. Lists other than invoices (which keep their own keyset order,
invoicing.selectors.invoice_page) go by id, newest first; a cursor is the last id of the page before,
opaque to clients. A cursor that is not one we made is a 400, not a silent first page."""

import base64
import json

from django.db.models import QuerySet

from api.problems import Problem
from api.schemas import MAX_ID

DEFAULT_LIMIT = 50
MAX_LIMIT = 100


def encode_cursor(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def _after_id(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
    except (ValueError, TypeError):
        value = None
    if type(value) is not list or len(value) != 2 or value[0] != "id" or type(value[1]) is not int:
        raise Problem(
            400,
            "This cursor is not one the API gave.",
            errors=[{"field": "cursor", "message": "Invalid cursor."}],
        )
    if not 0 < value[1] <= MAX_ID:
        raise Problem(
            400,
            "This cursor is not one the API gave.",
            errors=[{"field": "cursor", "message": "Invalid cursor."}],
        )
    return value[1]


def page_by_id(
    queryset: QuerySet, *, cursor: str | None, limit: int = DEFAULT_LIMIT
) -> tuple[list, str | None]:
    """(rows, next cursor) of `queryset` newest first."""
    queryset = queryset.order_by("-id")
    if cursor:
        queryset = queryset.filter(id__lt=_after_id(cursor))
    rows = list(queryset[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(["id", rows[-1].pk]) if more and rows else None
