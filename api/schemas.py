"""What the API reads and writes, as typed schemas: the OpenAPI document is generated from these.

Conventions (docs/api.md): amounts are integers in the currency's minor unit with `currency` beside them;
times are RFC 3339 in UTC; decimals (quantities, tax rates) are strings; unknown fields are refused.
"""

import datetime
from decimal import Decimal
from typing import Annotated, Literal

from ninja import Schema
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer

from api.webhooks.catalogue import EVENT_TYPES
from core import money
from invoicing.models import PaymentOption, RecurringEnd, RecurringFrequency, RecurringStatus
from payments.models import OFFLINE_METHODS

MAX_ID = 2**63 - 1


def _storable(value: str) -> str:
    """PostgreSQL text holds neither NUL nor lone surrogates (JSON can carry both)."""
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode") from None
    return value


def Text(max_length: int, min_length: int = 0):
    return Annotated[str, Field(min_length=min_length, max_length=max_length), AfterValidator(_storable)]


Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Amount = Annotated[int, Field(ge=1, lt=money.MAX_AMOUNT_MINOR, description="In the currency's minor unit.")]
AmountOut = Annotated[int, Field(description="In the currency's minor unit.")]
Currency = Literal[tuple(sorted(money.CURRENCY_EXPONENTS))]  # type: ignore[valid-type]
UtcTime = Annotated[
    datetime.datetime,
    PlainSerializer(
        lambda moment: moment.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z"),
        return_type=str,
    ),
]
DecimalText = Annotated[Decimal, PlainSerializer(lambda value: f"{value.normalize():f}", return_type=str)]


class In(Schema):
    """Every request body: an unknown field is an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


# Problems (RFC 9457) ---------------------------------------------------------------------------------


class FieldError(Schema):
    field: str
    message: str


class Problem(Schema):
    type: str = "about:blank"
    title: str
    status: int
    detail: str = ""
    errors: list[FieldError] = []


# Customers -------------------------------------------------------------------------------------------


class CustomerOut(Schema):
    object: Literal["customer"] = "customer"
    id: int
    name: str
    company: str
    email: str
    cc_emails: list[str]
    phone: str
    tax_id: str
    address_line1: str
    address_line2: str
    city: str
    region: str
    postal_code: str
    country: str
    notes: str
    email_reminders: bool
    autopay: bool
    archived: bool = Field(validation_alias="is_archived")
    created_at: UtcTime
    updated_at: UtcTime


class CustomerFields(In):
    company: Text(200) = ""
    cc_emails: Annotated[list[Text(254)], Field(max_length=20)] = []
    phone: Text(40) = ""
    tax_id: Text(64) = ""
    address_line1: Text(200) = ""
    address_line2: Text(200) = ""
    city: Text(100) = ""
    region: Text(100) = ""
    postal_code: Text(20) = ""
    country: Text(2) = ""
    notes: Text(5000) = ""
    email_reminders: bool = True


class CustomerCreate(CustomerFields):
    name: Text(200, min_length=1)
    email: Text(254, min_length=1)


class CustomerUpdate(In):
    name: Text(200, min_length=1) | None = None
    email: Text(254, min_length=1) | None = None
    company: Text(200) | None = None
    cc_emails: Annotated[list[Text(254)], Field(max_length=20)] | None = None
    phone: Text(40) | None = None
    tax_id: Text(64) | None = None
    address_line1: Text(200) | None = None
    address_line2: Text(200) | None = None
    city: Text(100) | None = None
    region: Text(100) | None = None
    postal_code: Text(20) | None = None
    country: Text(2) | None = None
    notes: Text(5000) | None = None
    email_reminders: bool | None = None
    archived: bool | None = None


class CustomerPage(Schema):
    data: list[CustomerOut]
    next_cursor: str | None


class PaymentMethodOut(Schema):
    """What may be shown of a saved card or bank account: never its number."""

    object: Literal["payment_method"] = "payment_method"
    id: int
    customer_id: int
    kind: Literal["card", "bank_account"]
    brand: str
    bank_name: str
    last4: str
    exp_month: int | None
    exp_year: int | None
    is_default: bool
    created_at: UtcTime


# Invoices ---------------------------------------------------------------------------------------------

PaymentOptionName = Literal[tuple(PaymentOption.values)]  # type: ignore[valid-type]
AS_THE_FORM_DOES = "Default: charge_on_due_date for a customer with Auto-Pay on, else charge_later."


class LineIn(In):
    description: Text(500, min_length=1)
    quantity: Annotated[
        Decimal,
        Field(
            gt=0,
            lt=money.MAX_QUANTITY,
            max_digits=money.QUANTITY_DIGITS,
            decimal_places=money.QUANTITY_PLACES,
        ),
    ] = Decimal(1)
    unit_price: Annotated[int, Field(ge=0, lt=money.MAX_AMOUNT_MINOR, description="Minor units.")]
    tax_rate: Annotated[
        Decimal,
        Field(
            ge=0,
            le=money.MAX_TAX_RATE,
            max_digits=money.TAX_RATE_DIGITS,
            decimal_places=money.TAX_RATE_PLACES,
        ),
    ] = Decimal(0)


class LineOut(Schema):
    description: str
    quantity: DecimalText
    unit_price: AmountOut
    tax_rate: DecimalText
    amount: AmountOut
    tax_amount: AmountOut


class InvoiceCreate(In):
    customer_id: Id
    due_date: datetime.date | None = Field(None, description="Default: today plus the payment terms.")
    currency: Currency | None = Field(None, description="Default: the business's currency.")
    lines: Annotated[list[LineIn], Field(min_length=1, max_length=200)]
    payment_option: PaymentOptionName | None = Field(None, description=AS_THE_FORM_DOES)
    payment_method_id: Id | None = None
    memo: Text(5000) | None = Field(None, description="Default: the business's default memo.")
    footer: Text(5000) | None = None


class InvoiceUpdate(In):
    """A draft: any of these. An issued invoice: only `memo`."""

    customer_id: Id | None = None
    due_date: datetime.date | None = None
    currency: Currency | None = None
    lines: Annotated[list[LineIn], Field(min_length=1, max_length=200)] | None = None
    payment_option: PaymentOptionName | None = None
    payment_method_id: Id | None = None
    memo: Text(5000) | None = None
    footer: Text(5000) | None = None


class InvoiceIssue(In):
    payment_option: PaymentOptionName | None = Field(None, description="Default: the draft's option.")
    payment_method_id: Id | None = None


class InvoiceOut(Schema):
    object: Literal["invoice"] = "invoice"
    id: int
    number: str
    status: Literal["draft", "open", "paid", "void", "uncollectible"]
    customer_id: int
    currency: str
    issue_date: datetime.date | None
    due_date: datetime.date
    overdue: bool
    payment_option: PaymentOptionName
    payment_method_id: int | None
    memo: str
    footer: str
    subtotal: AmountOut
    tax_total: AmountOut
    total: AmountOut
    amount_paid: AmountOut
    amount_credited: AmountOut
    amount_refunded: AmountOut
    credit_applied: AmountOut
    amount_due: AmountOut
    version: int
    lines: list[LineOut]
    created_at: UtcTime
    updated_at: UtcTime
    finalized_at: UtcTime | None
    paid_at: UtcTime | None
    voided_at: UtcTime | None
    uncollectible_at: UtcTime | None


# A plain pydantic model, not a ninja Schema: pydantic-core reads the 50 rows' attributes itself, where a
# Schema wraps each row in a getter whose lookups run in Python (about 2 ms of a list request's CPU).
class InvoiceSummary(BaseModel):
    """An invoice in a list: without lines and texts (GET /invoices/{id} has them)."""

    model_config = ConfigDict(from_attributes=True)

    object: Literal["invoice"] = "invoice"
    id: int
    number: str
    status: Literal["draft", "open", "paid", "void", "uncollectible"]
    customer_id: int
    currency: str
    due_date: datetime.date
    total: AmountOut
    amount_due: AmountOut
    created_at: UtcTime


class InvoicePage(Schema):
    data: list[InvoiceSummary]
    next_cursor: str | None
    previous_cursor: str | None
    count: int = Field(description="Matching invoices, counted up to 1000.")
    count_is_capped: bool


class InvoiceIssued(InvoiceOut):
    pay_url: str | None = Field(None, description="The customer's pay link: shown this once, never stored.")


class PayLinkOut(Schema):
    pay_url: str = Field(description="The customer's new pay link: shown this once; earlier links stop.")


class SendOut(Schema):
    object: Literal["email"] = "email"
    id: int
    to: list[str]
    cc: list[str]
    status: str


class OfflinePaymentIn(In):
    amount: Amount
    method: Literal[tuple(str(m) for m in OFFLINE_METHODS)]  # type: ignore[valid-type]
    received_on: datetime.date | None = Field(None, description="Default: today, where the business is.")
    reference: Text(200) = ""
    keep_excess_as_credit: bool = False


class CreditNoteIn(In):
    amount: Amount
    reason: Text(500, min_length=1)


class CreditNoteOut(Schema):
    object: Literal["credit_note"] = "credit_note"
    id: int
    invoice_id: int
    number: str
    amount: AmountOut
    currency: str
    reason: str
    created_at: UtcTime


class EventOut(Schema):
    object: Literal["invoice_event"] = "invoice_event"
    id: int
    kind: str
    message: str
    actor: str
    created_at: UtcTime


class EventPage(Schema):
    data: list[EventOut]
    next_cursor: str | None


# Recurring payments -----------------------------------------------------------------------------------

FrequencyName = Literal[tuple(RecurringFrequency.values)]  # type: ignore[valid-type]
EndModeName = Literal[tuple(RecurringEnd.values)]  # type: ignore[valid-type]


class RecurringCreate(In):
    """What each invoice bills and when. The ranges (interval, day, days until due, count, dates) are the
    recurring payment form's, checked by the same service: a value outside them is a 422 naming it."""

    customer_id: Id
    currency: Currency | None = Field(None, description="Default: the business's currency.")
    lines: Annotated[list[LineIn], Field(min_length=1, max_length=200)]
    frequency: FrequencyName = "monthly"
    interval: Annotated[int, Field(ge=1)] = Field(1, description="N, for every_n_weeks and every_n_months.")
    anchor_day: int | None = Field(
        None, description="Day of the month (monthly and longer; 31 is the last day). Default: the start's."
    )
    start_date: datetime.date | None = Field(None, description="The first invoice's date. Default: today.")
    end_mode: EndModeName = "never"
    end_count: int | None = Field(None, description="With end_mode after_count: how many invoices.")
    end_date: datetime.date | None = Field(None, description="With end_mode on_date: the last date.")
    payment_option: PaymentOptionName | None = Field(None, description=AS_THE_FORM_DOES)
    payment_method_id: Id | None = None
    days_until_due: int | None = Field(None, description="Default: the business's payment terms.")
    memo: Text(5000) | None = Field(None, description="Default: the business's default memo.")


class RecurringUpdate(In):
    """Send only what changes; `lines`, when sent, replace all lines. Changing `start_date` (the next
    invoice's date), the frequency, interval or day restarts the series there."""

    customer_id: Id | None = None
    currency: Currency | None = None
    lines: Annotated[list[LineIn], Field(min_length=1, max_length=200)] | None = None
    frequency: FrequencyName | None = None
    interval: Annotated[int, Field(ge=1)] | None = None
    anchor_day: int | None = None
    start_date: datetime.date | None = None
    end_mode: EndModeName | None = None
    end_count: int | None = None
    end_date: datetime.date | None = None
    payment_option: PaymentOptionName | None = None
    payment_method_id: Id | None = None
    days_until_due: int | None = None
    memo: Text(5000) | None = None


class RecurringLineOut(Schema):
    description: str
    quantity: DecimalText
    unit_price: AmountOut
    tax_rate: DecimalText


class RecurringOut(Schema):
    object: Literal["recurring_payment"] = "recurring_payment"
    id: int
    status: Literal[tuple(RecurringStatus.values)]  # type: ignore[valid-type]
    customer_id: int
    currency: str
    frequency: FrequencyName
    interval: int
    anchor_day: int | None
    start_date: datetime.date = Field(description="The first period's date, or where an edit restarted it.")
    end_mode: EndModeName
    end_count: int | None
    end_date: datetime.date | None
    payment_option: PaymentOptionName
    payment_method_id: int | None
    days_until_due: int
    memo: str
    lines: list[RecurringLineOut]
    subtotal: AmountOut
    tax_total: AmountOut
    total: AmountOut = Field(description="What each invoice bills, in the currency's minor unit.")
    next_issue_date: datetime.date | None
    upcoming_dates: list[datetime.date] = Field(description="The next issue dates (up to six).")
    invoices_issued: int
    problem: str = Field(description="Why the job paused it (an invoice could not be made), if it did.")
    created_at: UtcTime
    updated_at: UtcTime


class RecurringPage(Schema):
    data: list[RecurringOut]
    next_cursor: str | None


# Payments and refunds ---------------------------------------------------------------------------------


class PaymentOut(Schema):
    object: Literal["payment"] = "payment"
    id: int
    invoice_id: int
    customer_id: int
    amount: AmountOut
    currency: str
    method: str
    reference: str
    received_on: datetime.date
    credited_amount: AmountOut
    amount_refunded: AmountOut
    created_at: UtcTime


class PaymentPage(Schema):
    data: list[PaymentOut]
    next_cursor: str | None


class RefundIn(In):
    amount: Amount
    reason: Text(500, min_length=1)
    reduce_amount_owed: bool = True


class RefundOut(Schema):
    object: Literal["refund"] = "refund"
    id: int
    payment_id: int
    invoice_id: int
    amount: AmountOut
    currency: str
    reason: str
    reduce_amount_owed: bool
    status: Literal["pending", "succeeded", "failed"]
    failure_message: str
    created_at: UtcTime
    completed_at: UtcTime | None


class RefundPage(Schema):
    data: list[RefundOut]
    next_cursor: str | None


# Webhook endpoints ------------------------------------------------------------------------------------

EventType = Literal[tuple(EVENT_TYPES)]  # type: ignore[valid-type]


class EndpointIn(In):
    url: Text(1000, min_length=1)
    event_types: Annotated[list[EventType], Field(min_length=1, max_length=40)]
    description: Text(200) = ""


class EndpointUpdate(In):
    url: Text(1000, min_length=1) | None = None
    event_types: Annotated[list[EventType], Field(min_length=1, max_length=40)] | None = None
    description: Text(200) | None = None
    enabled: bool | None = None


class EndpointOut(Schema):
    object: Literal["webhook_endpoint"] = "webhook_endpoint"
    id: int
    url: str
    description: str
    event_types: list[str]
    enabled: bool = Field(validation_alias="is_enabled")
    disabled_reason: str
    created_at: UtcTime


class EndpointWithSecret(EndpointOut):
    secret: str = Field(description="Verify signatures with it (Standard Webhooks). Keep it secret.")


class DeliveryOut(Schema):
    object: Literal["webhook_delivery"] = "webhook_delivery"
    id: int
    event_id: str
    event_type: str
    status: Literal["pending", "succeeded", "failed"]
    attempts: int
    last_status_code: int | None
    last_latency_ms: int | None
    last_response_excerpt: str
    last_error: str
    next_attempt_at: UtcTime | None
    created_at: UtcTime


class DeliveryPage(Schema):
    data: list[DeliveryOut]
    next_cursor: str | None
