"""Gap-free invoice and credit-note numbers, per partner.

A number is taken from the partner's NumberCounter row under SELECT ... FOR UPDATE, in the same
transaction that finalizes the invoice. Concurrent finalizations queue on that row, and a
finalization that fails rolls the counter back with everything else, so no number is skipped.
"""

import datetime

from django.core.exceptions import ValidationError

from invoicing.models import NumberCounter, NumberKind
from partners.models import Partner


def _counter_year(partner: Partner, on_date: datetime.date) -> int:
    return on_date.year if partner.invoice_number_yearly_reset else 0


def _locked_counter(*, partner: Partner, kind: NumberKind, year: int) -> NumberCounter:
    # Create the row if missing without racing another transaction, then lock it.
    NumberCounter.objects.bulk_create(
        [NumberCounter(partner=partner, kind=kind, year=year)], ignore_conflicts=True
    )
    return NumberCounter.objects.select_for_update().get(partner=partner, kind=kind, year=year)


def number_format(*, partner: Partner, kind: NumberKind, year: int, value: int) -> str:
    prefix = partner.invoice_number_prefix if kind == NumberKind.INVOICE else partner.credit_note_prefix
    digits = f"{value:0{partner.invoice_number_padding}d}"
    return f"{prefix}{year}-{digits}" if year else f"{prefix}{digits}"


def number_take(*, partner: Partner, kind: NumberKind, on_date: datetime.date) -> str:
    """The next number; the caller must be inside the transaction that uses it."""
    counter = _locked_counter(partner=partner, kind=kind, year=_counter_year(partner, on_date))
    number = number_format(partner=partner, kind=kind, year=counter.year, value=counter.next_value)
    counter.next_value += 1
    counter.save(update_fields=["next_value"])
    return number


def number_peek(*, partner: Partner, kind: NumberKind, on_date: datetime.date) -> int:
    counter = NumberCounter.objects.filter(
        partner=partner, kind=kind, year=_counter_year(partner, on_date)
    ).first()
    return counter.next_value if counter else 1


def number_set_next(*, partner: Partner, kind: NumberKind, on_date: datetime.date, next_value: int) -> None:
    """Move the sequence forward (e.g. to continue from another tool). Going back could repeat numbers."""
    counter = _locked_counter(partner=partner, kind=kind, year=_counter_year(partner, on_date))
    if next_value < counter.next_value:
        raise ValidationError(
            {"next_number": f"The next number can only go up: it is {counter.next_value} now."}
        )
    counter.next_value = next_value
    counter.save(update_fields=["next_value"])
