"""Forms for the invoice pages. They turn what was typed into typed values; the business rules
(due date, amount, payment method) are enforced by invoicing.services and shown next to the fields.
"""

import datetime
import itertools
import re
from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError

from core import money
from invoicing.models import PaymentOption
from partners.models import CURRENCY_CHOICES, Partner

PAYMENT_OPTION_HELP = {
    PaymentOption.CHARGE_LATER: "Create the invoice without charging. It appears in the customer's portal; "
    "send a notification or reminder to prompt payment.",
    PaymentOption.CHARGE_NOW: "Charge the customer's default payment method on file when the invoice is "
    "created.",
    PaymentOption.CHARGE_ON_DUE_DATE: "Charge the customer's default payment method on the due date.",
    PaymentOption.EMAIL_PAYMENT_LINK: "Email the customer a link to pay with the method of their choice.",
    PaymentOption.CHARGE_METHOD_ON_FILE: "Charge a specific saved payment method that you choose below.",
}
MAX_LINES = 100


class MoneyField(forms.CharField):
    """An amount typed as text ("1,250.50"); cleaned to minor units by the form once the currency is known."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 30)
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}))
        super().__init__(**kwargs)


def parse_money_field(form: forms.Form, field: str, currency: str) -> int | None:
    text = form.cleaned_data.get(field) or ""
    if not text.strip():
        return None
    try:
        return money.parse_amount(text, currency)
    except money.MoneyError as error:
        form.add_error(field, str(error))
        return None


class InvoiceForm(forms.Form):
    customer = forms.IntegerField(required=False, widget=forms.HiddenInput)
    customer_query = forms.CharField(label="Customer", required=False, max_length=200)
    new_customer_name = forms.CharField(label="Name", required=False, max_length=200)
    new_customer_company = forms.CharField(label="Company", required=False, max_length=200)
    new_customer_email = forms.EmailField(label="Email", required=False)
    due_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    currency = forms.ChoiceField(choices=CURRENCY_CHOICES)
    amount = MoneyField(label="Amount", required=False, help_text="Or itemize the invoice below.")
    memo = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="Visible to the customer."
    )
    footer = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    payment_option = forms.ChoiceField(
        choices=PaymentOption.choices, widget=forms.RadioSelect, initial=PaymentOption.CHARGE_LATER
    )
    payment_method = forms.IntegerField(required=False, widget=forms.Select)

    def __init__(self, *args, partner: Partner, **kwargs):
        super().__init__(*args, **kwargs)
        self.partner = partner
        self.lines: list[dict] = []
        self.line_errors: dict[int, dict[str, str]] = {}

    def clean(self):
        cleaned = super().clean()
        currency = cleaned.get("currency") or self.partner.default_currency
        cleaned["amount_minor"] = parse_money_field(self, "amount", currency)
        cleaned["lines"] = self._clean_lines(currency)
        if (
            not cleaned.get("customer")
            and not cleaned.get("new_customer_email")
            and not self.has_error("customer")
        ):
            if cleaned.get("new_customer_name"):
                self.add_error("new_customer_email", "Enter the new customer's email.")
            else:
                self.add_error("customer_query", "Choose a customer, or add a new one.")
        if cleaned.get("new_customer_email") and not cleaned.get("new_customer_name"):
            self.add_error("new_customer_name", "Enter the new customer's name.")
        return cleaned

    def _clean_lines(self, currency: str) -> list[dict]:
        """Itemized lines come as parallel lists (line-description, line-quantity, ...), one per row."""
        names = ("description", "quantity", "unit_price", "tax_rate")
        columns = (
            [self.data.getlist(f"line-{name}") for name in names] if hasattr(self.data, "getlist") else []
        )
        rows = list(zip(*columns, strict=False))[:MAX_LINES] if columns else []
        lines = []
        for index, (description, quantity, unit_price, tax_rate) in enumerate(rows):
            self.lines.append(
                {
                    "description": description,
                    "quantity": quantity,
                    "unit_price": unit_price,
                    "tax_rate": tax_rate,
                }
            )
            if not any(value.strip() for value in (description, unit_price)):
                continue  # an empty row
            errors, line = {}, {"description": description.strip()[:500]}
            if not line["description"]:
                errors["description"] = "Describe the item."
            line["quantity"] = _decimal(
                quantity or "1", errors, "quantity", "Enter a quantity, like 1 or 2.5."
            )
            if line["quantity"] is not None and not (0 < line["quantity"] < 10**9):
                errors["quantity"] = "The quantity must be greater than zero."
            line["tax_rate"] = _decimal(
                tax_rate or "0", errors, "tax_rate", "Enter a tax rate in %, like 8.25."
            )
            if line["tax_rate"] is not None and not (0 <= line["tax_rate"] <= 100):
                errors["tax_rate"] = "The tax rate must be between 0 and 100%."
            try:
                line["unit_price"] = money.parse_amount(unit_price, currency)
            except money.MoneyError as error:
                errors["unit_price"] = str(error)
            if errors:
                self.line_errors[index] = errors
            else:
                lines.append(line)
        if self.line_errors:
            self.add_error(None, "Some lines need attention; see the messages beside them.")
        return lines

    def has_lines(self) -> bool:
        return any(line["description"].strip() or line["unit_price"].strip() for line in self.lines)


def _decimal(text: str, errors: dict, field: str, message: str) -> Decimal | None:
    try:
        value = Decimal(text.strip().replace(",", "."))
    except InvalidOperation:
        errors[field] = message
        return None
    if not value.is_finite() or value.as_tuple().exponent < -4:
        errors[field] = message
        return None
    return value


class MemoForm(forms.Form):
    memo = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)


class AmountForm(forms.Form):
    """A form with an `amount` in one currency; `cleaned_data["amount_minor"]` holds it in minor units."""

    amount = MoneyField()

    def __init__(self, *args, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.currency = currency

    def clean(self):
        cleaned = super().clean()
        cleaned["amount_minor"] = parse_money_field(self, "amount", self.currency)
        return cleaned


class CreditNoteForm(AmountForm):
    reason = forms.CharField(max_length=500)


class DayListField(forms.CharField):
    """Whole numbers of days typed as "3, 7, 14" (commas or spaces), shown back the same way."""

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(str(day) for day in value)
        return value

    def clean(self, value) -> list[int]:
        text = (super().clean(value) or "").strip()
        parts = [part for part in re.split(r"[,\s]+", text) if part]
        if not all(part.isascii() and part.isdigit() for part in parts):
            raise ValidationError("Enter whole numbers of days separated by commas, like 3, 7, 14.")
        return [int(part) for part in parts]


class RetryDaysField(DayListField):
    """Days after the first failed automatic charge to try again, typed as "3, 7, 14"."""

    MAX_RETRIES = 10
    MAX_DAY = 60

    def clean(self, value) -> list[int]:
        days = super().clean(value)
        if len(days) > self.MAX_RETRIES:
            raise ValidationError(f"Enter at most {self.MAX_RETRIES} retries.")
        if any(not 1 <= day <= self.MAX_DAY for day in days):
            raise ValidationError(f"Each retry must be 1 to {self.MAX_DAY} days after the first try.")
        if any(later <= earlier for earlier, later in itertools.pairwise(days)):
            raise ValidationError("List the days in increasing order, each retry after the one before.")
        return days


class InvoiceSettingsForm(forms.ModelForm):
    charge_retry_days = RetryDaysField(
        label="Retry failed charges after (days)",
        required=False,
        max_length=100,
        help_text="Days after the first failed automatic charge, like 3, 7, 14. Leave empty to never retry. "
        "Hard declines (a lost or stolen card, a closed account) are never retried.",
    )
    next_number = forms.IntegerField(
        min_value=1,
        max_value=10**12,
        help_text="The number the next finalized invoice gets. It can only go up.",
    )

    class Meta:
        model = Partner
        fields = [
            "payment_terms_days",
            "default_memo",
            "default_footer",
            "invoice_number_prefix",
            "invoice_number_padding",
            "invoice_number_yearly_reset",
            "credit_note_prefix",
            "charge_retry_days",
            "mark_uncollectible_after_retries",
            "pay_link_valid_days",
            "recurring_catch_up_days",
        ]
        widgets = {
            "default_memo": forms.Textarea(attrs={"rows": 3}),
            "default_footer": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pay_link_valid_days"].required = False
        self.fields["pay_link_valid_days"].help_text += " Leave empty for 30 days."
        self.fields["recurring_catch_up_days"].required = False
        self.fields["recurring_catch_up_days"].help_text += " Leave empty for 30 days."

    def clean_recurring_catch_up_days(self) -> int:
        days = self.cleaned_data["recurring_catch_up_days"]
        return 30 if days is None else days

    def clean_pay_link_valid_days(self) -> int:
        days = self.cleaned_data["pay_link_valid_days"]
        return 30 if days is None else days

    def clean_invoice_number_prefix(self) -> str:
        prefix = self.cleaned_data["invoice_number_prefix"]
        if any(ch.isspace() for ch in prefix):
            raise ValidationError("Use a prefix without spaces, like INV- or 2026/.")
        return prefix


def default_payment_option(customer) -> PaymentOption:
    """The seed: with Auto-Pay on, Charge on due date is the customer's default payment option."""
    if customer is not None and customer.autopay:
        return PaymentOption.CHARGE_ON_DUE_DATE
    return PaymentOption.CHARGE_LATER


def default_due_date(partner: Partner) -> datetime.date:
    return partner.today() + datetime.timedelta(days=partner.payment_terms_days)
