"""Forms for the partner's payment pages: saving a card or bank account, charging, refunding.

Cards are entered in the processor's own fields in the browser (templates/payments/_card_entry.html):
the form gets only an opaque reference. Sandbox bank account numbers are checked here (digits, routing
checksum) and handed straight to the gateway; they are never stored, logged or written back into a
page: their inputs render empty even after a failed submit, and the views mark them sensitive.
"""

import datetime
import re

from django import forms
from django.core.exceptions import ValidationError

from core.forms import KeyedForm
from customers.models import PaymentMethod
from invoicing.forms import AmountForm, MoneyField
from payments.gateways.base import BankAccountDetails
from payments.models import OFFLINE_METHODS, PaymentMethodType

# The POST fields Django must never show in an error report (sensitive_post_parameters).
SENSITIVE_FIELDS = ("card_number", "cvc", "account_number")


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

    def method_input(self) -> dict:
        return {"details": self.details()}

    def details(self) -> BankAccountDetails:
        return BankAccountDetails(
            routing_number=self.cleaned_data["routing_number"],
            account_number=self.cleaned_data["account_number"],
            holder_name=self.cleaned_data["holder_name"],
            account_type=self.cleaned_data["account_type"],
        )


class CardReferenceForm(forms.Form):
    """A card entered in the processor's own fields (templates/payments/_card_entry.html): the form gets
    the cardholder's name and the processor's opaque reference, never a number."""

    kind = "card"
    name = forms.CharField(
        label="Cardholder name",
        max_length=200,
        error_messages={"required": "Enter the name on the card."},
        widget=forms.TextInput(attrs={"autocomplete": "cc-name"}),
    )
    method_reference = forms.CharField(
        max_length=300,
        widget=forms.HiddenInput,
        error_messages={"required": "Enter the card details."},
    )
    make_default = forms.BooleanField(label="Make this the default payment method", required=False)

    def __init__(self, *args, today: datetime.date | None = None, **kwargs):
        super().__init__(*args, **kwargs)

    def clean_method_reference(self) -> str:
        reference = self.cleaned_data["method_reference"]
        if not re.fullmatch(r"[A-Za-z0-9_:./-]{3,300}", reference):
            raise ValidationError("The card details did not come through. Enter them again.")
        return reference

    def method_input(self) -> dict:
        return {"reference": self.cleaned_data["method_reference"]}


METHOD_FORMS = {"card": CardReferenceForm, "bank_account": BankAccountForm}


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


def _key_field(label: str, help_text: str, widget=SecretInput) -> forms.CharField:
    """A pasted Stripe key or secret: never completed or spell-checked by the browser."""
    return forms.CharField(
        label=label,
        max_length=255,
        strip=True,
        widget=widget(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text=help_text,
    )


class StripeKeysForm(forms.Form):
    """A partner's Stripe keys (Dashboard -> Developers -> API keys). The secret is never rendered back."""

    secret_key = _key_field(
        "Secret key", "Starts with sk_ or rk_ (a restricted key). It is encrypted and never shown again."
    )
    publishable_key = _key_field(
        "Publishable key", "Starts with pk_. Stripe.js uses it on your pay page.", widget=forms.TextInput
    )

    def clean_secret_key(self):
        key = self.cleaned_data["secret_key"]
        if not re.fullmatch(r"(sk|rk)_(test|live)_[A-Za-z0-9]{10,240}", key):
            raise ValidationError(
                "Paste the secret key: it starts with sk_test_, sk_live_, rk_test_ or rk_live_."
            )
        return key

    def clean_publishable_key(self):
        key = self.cleaned_data["publishable_key"]
        if not re.fullmatch(r"pk_(test|live)_[A-Za-z0-9]{10,240}", key):
            raise ValidationError("Paste the publishable key: it starts with pk_test_ or pk_live_.")
        return key

    def clean(self):
        data = super().clean()
        secret, publishable = data.get("secret_key", ""), data.get("publishable_key", "")
        if secret and publishable and ("_live_" in secret) != ("_live_" in publishable):
            self.add_error("publishable_key", "Use keys of the same mode: both test or both live.")
        return data


class WebhookSigningSecretForm(forms.Form):
    """The signing secret of a webhook endpoint the partner added in Stripe's Dashboard by hand."""

    signing_secret = _key_field(
        "Signing secret", "On the endpoint's page in Stripe, under Signing secret: starts with whsec_."
    )

    def clean_signing_secret(self):
        secret = self.cleaned_data["signing_secret"]
        if not re.fullmatch(r"whsec_[A-Za-z0-9]{10,240}", secret):
            raise ValidationError("Paste the endpoint's signing secret: it starts with whsec_.")
        return secret
