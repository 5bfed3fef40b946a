"""Saved payment methods made the way the app makes them: through the sandbox gateway."""

from django_scopes import scope

from customers.models import Customer, PaymentMethod
from payments.gateways.base import BankAccountDetails, CardDetails
from payments.gateways.sandbox.gateway import number_digest
from payments.services import payment_method_add, payment_method_save, payment_method_setup

GOOD_CARD = "4242424242424242"
DECLINED_CARD = "4000000000009995"  # insufficient funds: a soft decline, retried
LOST_CARD = "4000000000009987"  # a hard decline, never retried
TIMEOUT_CARD = "4000000000000705"  # charged, but the answer never arrives
GOOD_ACCOUNT = "000123456789"
RETURNED_ACCOUNT = "000222222227"  # R01


def card_for(customer: Customer, number: str = GOOD_CARD, *, default: bool = True, exp_year: int = 2035):
    with scope(partner=customer.partner):
        details = CardDetails(number=number, exp_month=12, exp_year=exp_year, cvc="123", name=customer.name)
        return payment_method_add(customer=customer, details=details, make_default=default)


def bank_account_for(
    customer: Customer, account: str = GOOD_ACCOUNT, *, default: bool = True
) -> PaymentMethod:
    with scope(partner=customer.partner):
        details = BankAccountDetails(
            routing_number="110000000", account_number=account, holder_name=customer.name
        )
        return payment_method_add(customer=customer, details=details, make_default=default)


def stripe_card_for(
    customer: Customer, double, number: str = GOOD_CARD, *, default: bool = True
) -> PaymentMethod:
    """A card saved as the pay page saves it with Stripe: a SetupIntent confirmed by (fake) Stripe.js."""
    with scope(partner=customer.partner):
        setup = payment_method_setup(customer=customer)
        double.confirm_setup(setup, number)
        return payment_method_save(customer=customer, reference=setup.reference, make_default=default)


def card_reference(number: str = GOOD_CARD, month: int = 12, year: int = 2034) -> str:
    """What the sandbox's card script (static/js/card-entry.js) sends instead of the number."""
    return f"card:{number_digest(number.replace(' ', ''))}:{month}:{year}"


def connect_stripe(partner, double, **account) -> dict:
    """The partner connects a new account on the Stripe test double (Settings -> Payments' service);
    returns the account's keys and id."""
    from payments.services import processor_connect_stripe

    keys = double.account(**account)
    with scope(partner=partner):
        processor_connect_stripe(
            partner=partner,
            secret_key=keys["secret_key"],
            publishable_key=keys["publishable_key"],
            actor=None,
        )
    return keys
