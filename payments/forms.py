"""Forms for the partner's payment pages: saving a card or bank account, charging, refunding.

Card and account numbers are checked here (digits, Luhn, routing checksum, expiry in the partner's time
zone) and handed straight to the gateway. They are never stored, logged or written back into a page:
their inputs render empty even after a failed submit, and the views mark them sensitive.
"""

import datetime
import re

from django import forms
from django.core.exceptions import ValidationError

from core.forms import KeyedForm
from customers.models import PaymentMethod
from invoicing.forms import AmountForm, MoneyField
from payments.gateways.base import BankAccountDetails, CardDetails
from payments.models import OFFLINE_METHODS, PaymentMethodType

# The POST fields Django must never show in an error report (sensitive_post_parameters).
SENSITIVE_FIELDS = ("card_number", "cvc", "account_number")
EXPIRY = re.compile(r"^\s*(\d{1,2})\s*/\s*(\d{2}|\d{4})\s*$")
MAX_EXPIRY_YEARS = 20


class SecretInput(forms.TextInput):
    """A text input that never writes what was typed back into the page."""

    def get_context(self, name, value, attrs):
        return super().get_context(name, None, attrs)


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def routing_number_valid(digits: str) -> bool:
    """The ABA checksum: weights 3, 7, 1 over the nine digits."""
    d = [int(char) for char in digits]
    return (3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + d[2] + d[5] + d[8]) % 10 == 0


def _digits(text: str, *, separators: str = " -") -> str | None:
    """The digits of a typed number once spaces and dashes are removed; None if anything else is in it."""
    digits = re.sub(f"[{re.escape(separators)}]", "", text or "")
    return digits if digits.isascii() and digits.isdigit() else None


class CardForm(forms.Form):
    kind = "card"
    name = forms.CharField(
        label="Cardholder name",
        max_length=200,
        error_messages={"required": "Enter the name on the card."},
        widget=forms.TextInput(attrs={"autocomplete": "cc-name"}),
    )
    card_number = forms.CharField(
        label="Card number",
        max_length=40,
        error_messages={"required": "Enter the card number."},
        widget=SecretInput(attrs={"autocomplete": "cc-number", "inputmode": "numeric", "maxlength": "23"}),
    )
    expiry = forms.CharField(
        label="Expiry (MM/YY)",
        max_length=10,
        error_messages={"required": "Enter the expiry date, like 04/27."},
        widget=forms.TextInput(
            attrs={"autocomplete": "cc-exp", "placeholder": "MM/YY", "inputmode": "numeric", "size": "7"}
        ),
    )
    cvc = forms.CharField(
        label="CVC",
        max_length=10,
        error_messages={"required": "Enter the CVC."},
        widget=SecretInput(
            attrs={"autocomplete": "cc-csc", "inputmode": "numeric", "maxlength": "4", "size": "5"}
        ),
    )
    make_default = forms.BooleanField(label="Make this the default payment method", required=False)

    def __init__(self, *args, today: datetime.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today  # the partner's today: a card works to the end of its expiry month there

    def clean_card_number(self) -> str:
        digits = _digits(self.cleaned_data["card_number"])
        if digits is None:
            raise ValidationError("Enter the card number with digits only.")
        if not 12 <= len(digits) <= 19:
            raise ValidationError("A card number has 12 to 19 digits.")
        if not luhn_valid(digits):
            raise ValidationError("That card number is not valid; check the digits.")
        return digits

    def clean_expiry(self) -> tuple[int, int]:
        match = EXPIRY.match(self.cleaned_data["expiry"])
        if not match:
            raise ValidationError("Enter the expiry as MM/YY, like 04/27.")
        month, year = int(match[1]), int(match[2])
        year += 2000 if year < 100 else 0
        if not 1 <= month <= 12:
            raise ValidationError("The month must be from 01 to 12.")
        if (year, month) < (self.today.year, self.today.month):
            raise ValidationError(f"This card expired at the end of {month:02d}/{year}.")
        if year > self.today.year + MAX_EXPIRY_YEARS:
            raise ValidationError("That expiry year is too far ahead; check the year.")
        return month, year

    def clean_cvc(self) -> str:
        digits = _digits(self.cleaned_data["cvc"], separators=" ")
        if digits is None or not 3 <= len(digits) <= 4:
            raise ValidationError("The CVC is the 3 or 4 digits on the back of the card.")
        return digits

    def details(self) -> CardDetails:
        month, year = self.cleaned_data["expiry"]
        return CardDetails(
            number=self.cleaned_data["card_number"],
            exp_month=month,
            exp_year=year,
            cvc=self.cleaned_data["cvc"],
            name=self.cleaned_data["name"],
        )


class BankAccountForm(forms.Form):
    kind = "bank_account"
    holder_name = forms.CharField(
        label="Account holder name",
        max_length=200,
        error_messages={"required": "Enter the name on the account."},
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    routing_number = forms.CharField(
        label="Routing number",
        max_length=20,
        error_messages={"required": "Enter the 9-digit routing number."},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "maxlength": "11", "autocomplete": "off"}),
    )
    account_number = forms.CharField(
        label="Account number",
        max_length=30,
        error_messages={"required": "Enter the account number."},
        widget=SecretInput(attrs={"inputmode": "numeric", "maxlength": "20", "autocomplete": "off"}),
    )
    account_type = forms.ChoiceField(
        label="Account type", choices=[("checking", "Checking"), ("savings", "Savings")], initial="checking"
    )
    make_default = forms.BooleanField(label="Make this the default payment method", required=False)

    def __init__(self, *args, today: datetime.date, **kwargs):
        super().__init__(*args, **kwargs)

    def clean_routing_number(self) -> str:
        digits = _digits(self.cleaned_data["routing_number"])
        if digits is None or len(digits) != 9:
            raise ValidationError("A routing number has 9 digits.")
        if not routing_number_valid(digits):
            raise ValidationError("That routing number is not valid; check the 9 digits.")
        return digits

    def clean_account_number(self) -> str:
        digits = _digits(self.cleaned_data["account_number"])
        if digits is None or not 4 <= len(digits) <= 17:
            raise ValidationError("An account number has 4 to 17 digits.")
        return digits

    def details(self) -> BankAccountDetails:
        return BankAccountDetails(
            routing_number=self.cleaned_data["routing_number"],
            account_number=self.cleaned_data["account_number"],
            holder_name=self.cleaned_data["holder_name"],
            account_type=self.cleaned_data["account_type"],
        )


METHOD_FORMS = {"card": CardForm, "bank_account": BankAccountForm}


def method_label(method: PaymentMethod, today: datetime.date | None = None) -> str:
    label = str(method)
    if method.exp_month and method.exp_year:
        expired = today is not None and method.is_expired_on(today)
        label += f", {'expired' if expired else 'expires'} {method.exp_month:02d}/{method.exp_year}"
    return label + (" (default)" if method.is_default else "")


class ChargeForm(KeyedForm, AmountForm):
    auto_id = "id_charge_%s"
    payment_method = forms.TypedChoiceField(label="Payment method", coerce=int)
    amount = MoneyField(help_text="At most the amount due.")

    def __init__(self, *args, currency: str, methods, today: datetime.date, **kwargs):
        super().__init__(*args, currency=currency, **kwargs)
        self.fields["payment_method"].choices = [(m.pk, method_label(m, today)) for m in methods]

    def clean(self):
        cleaned = super().clean()
        if cleaned["amount_minor"] is not None and cleaned["amount_minor"] <= 0:
            self.add_error("amount", "Enter an amount greater than zero.")
        return cleaned


class RefundForm(KeyedForm, AmountForm):
    reason = forms.CharField(
        max_length=500,
        error_messages={"required": "Say why, for the customer and your books."},
        help_text="Shown on the timeline and on the credit note.",
    )
    reduce_amount_owed = forms.BooleanField(
        label="Also reduce what the customer owes (credit note)", required=False, initial=True
    )


class OfflinePaymentForm(KeyedForm, AmountForm):
    auto_id = "id_payment_%s"
    method = forms.ChoiceField(
        choices=[(m.value, m.label) for m in OFFLINE_METHODS], initial=PaymentMethodType.CHECK
    )
    received_on = forms.DateField(label="Date received", widget=forms.DateInput(attrs={"type": "date"}))
    reference = forms.CharField(
        required=False, max_length=200, help_text="Check number or transfer reference."
    )
    keep_excess_as_credit = forms.BooleanField(
        label="Keep the extra as customer credit",
        required=False,
        help_text="When more than the amount due was received; the credit pays the customer's next invoice.",
    )
