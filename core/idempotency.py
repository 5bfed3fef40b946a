"""A form that moves money or issues a document does it once, however often it is submitted.

The key is made when the form is drawn (core.forms.KeyedForm puts it in a hidden field) and stored on
the row the submit creates (a payment, a credit note, a refund, a charge attempt), under a unique
constraint on (partner, idempotency_key). The service asks `once`: a repeat of the key gets the row the
first submit made, whatever the form says now; a concurrent repeat waits on the row the service locks
first (the invoice) and then finds it. Decision 0031.
"""

import re
import uuid
from collections.abc import Callable
from typing import TypeVar

from django.db import IntegrityError, models, transaction

KEY = re.compile(r"^[0-9a-f]{32}$")
ALREADY_SUBMITTED = "That form was already submitted; its result is below."
Row = TypeVar("Row", bound=models.Model)


def new_key() -> str:
    return uuid.uuid4().hex


def once(model: type[Row], *, partner_id: int, key: str | None, create: Callable[[], Row]) -> Row:
    """The row made for `key`: found if an earlier submit made it (marked `replayed`), else `create()`.

    Call it inside the caller's transaction, after locking the row the change is about, so that a
    concurrent submit of the same form waits and then finds the first one's row. Should two submits
    still meet (no lock orders them), the unique constraint refuses the second, which then answers
    with the first one's row. Without a key (a job, the demo data) it just creates."""
    if not key:
        return create()
    if (earlier := _find(model, partner_id, key)) is not None:
        return earlier
    try:
        with transaction.atomic():
            return create()
    except IntegrityError:
        if (earlier := _find(model, partner_id, key)) is None:
            raise
        return earlier


def replayed(row: models.Model) -> bool:
    """Whether `once` answered with the row of an earlier submit of the same form."""
    return getattr(row, "replayed", False)


def _find(model: type[Row], partner_id: int, key: str) -> Row | None:
    row = model._default_manager.filter(partner_id=partner_id, idempotency_key=key).first()
    if row is not None:
        row.replayed = True  # the view says the form was already submitted
    return row
