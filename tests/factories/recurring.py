"""Recurring payments made the way the app makes them: through invoicing.recurring."""

import datetime
from decimal import Decimal

from django_scopes import scope

from customers.models import Customer
from invoicing.models import PaymentOption, RecurringEnd, RecurringFrequency, RecurringSchedule
from invoicing.recurring import RecurringInput, recurring_create
from invoicing.services import LineInput
from tests.factories.invoicing import customer_for


def recurring_input(
    customer: Customer,
    *,
    start_date: datetime.date,
    frequency: RecurringFrequency = RecurringFrequency.MONTHLY,
    amount: int = 10_000,
    **fields,
) -> RecurringInput:
    fields.setdefault("currency", customer.partner.default_currency)
    fields.setdefault("lines", [LineInput("Managed services", Decimal(1), amount)])
    return RecurringInput(customer=customer, frequency=frequency, start_date=start_date, **fields)


def make_schedule(
    partner,
    *,
    start_date: datetime.date,
    customer: Customer | None = None,
    frequency: RecurringFrequency = RecurringFrequency.MONTHLY,
    payment_option: PaymentOption = PaymentOption.CHARGE_LATER,
    end_mode: RecurringEnd = RecurringEnd.NEVER,
    **fields,
) -> RecurringSchedule:
    customer = customer or customer_for(partner)
    with scope(partner=partner):
        data = recurring_input(
            customer,
            start_date=start_date,
            frequency=frequency,
            payment_option=payment_option,
            end_mode=end_mode,
            **fields,
        )
        return recurring_create(partner=partner, data=data, created_by=None)
