"""How payments follows what invoicing announces (invoicing.signals), connected in PaymentsConfig.ready."""

from django.core.exceptions import ValidationError

from payments.selectors import charge_amount_refusal
from payments.services import collection_start, credit_restore, live_attempt_error


def start_collection(sender, *, invoice, actor, **kwargs) -> None:
    """An invoice was issued: pay link, customer credit, then its payment option."""
    collection_start(invoice=invoice, actor=actor)


def refuse_while_charging(sender, *, invoice, change, **kwargs) -> None:
    """No void or credit note while a charge is in flight: it could charge a customer who owes nothing."""
    if error := live_attempt_error(invoice):
        raise ValidationError(error)


def refuse_uncollectible_amount(sender, *, partner, amount, currency, **kwargs) -> str | None:
    """An amount the partner's processor could never charge is refused where it is typed."""
    return charge_amount_refusal(partner=partner, amount=amount, currency=currency)


def give_back_credit(sender, *, invoice, actor, credit_applied, **kwargs) -> None:
    """A voided invoice gives back the customer credit it used."""
    if credit_applied:
        credit_restore(invoice=invoice, actor=actor)
