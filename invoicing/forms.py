"""Forms for the invoice pages. They turn what was typed into typed values; the business rules
(due date, amount, payment method) are enforced by invoicing.services and shown next to the fields.
"""

import datetime
import itertools
import re

from django import forms
from django.core.exceptions import ValidationError

from core import money
from core.forms import KeyedForm
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


def parse_money_field(form: forms.Form, field: str, currency: str, *, required: bool = False) -> int | None:
    """The amount typed in `field` in minor units; None, with the reason beside the field, if it is not
    one (or, unless `required`, if nothing was typed)."""
    if form.has_error(field):
        return None
    text = form.cleaned_data.get(field) or ""
    if not text.strip() and not required:
        return None
    try:
        return money.parse_amount(text, currency)
    except money.MoneyError as error:
        form.add_error(field, str(error))
        return None


class LineForm(forms.Form):
    """One itemized line, as typed. A row with neither a description nor a price is blank and left out;
    its cleaned_data is empty."""

    description = forms.CharField(label="Description", required=False, max_length=500)
    quantity = forms.CharField(
        label="Quantity",
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "1", "size": 6}),
    )
    unit_price = MoneyField(
        label="Unit price",
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "size": 10}),
    )
    tax_rate = forms.CharField(
        label="Tax rate",
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "0", "size": 5}),
    )

    def __init__(self, *args, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.currency = currency

    @property
    def is_blank(self) -> bool:
        return not any(str(self[name].value() or "").strip() for name in ("description", "unit_price"))

    def clean(self) -> dict:
        cleaned = super().clean()
        if self.is_blank:
            return {}
        description = (cleaned.get("description") or "").strip()
        if not description and not self.has_error("description"):
            self.add_error("description", "Describe the item.")
        return {
            "description": description,
            "quantity": self._parse("quantity", money.parse_quantity),
            "unit_price": parse_money_field(self, "unit_price", self.currency, required=True),
            "tax_rate": self._parse("tax_rate", money.parse_tax_rate),
        }

    def _parse(self, field: str, parse):
        if self.has_error(field):
            return None
        try:
            return parse(self.cleaned_data.get(field) or "")
        except money.MoneyError as error:
            self.add_error(field, str(error))
            return None

    def priced(self) -> money.LineAmounts | None:
        """What the row would cost as typed so far (valid or not), or None if it can't be read yet:
        the totals preview, by the same parsing and pricing as a saved line."""
        try:
            return money.line_amounts(
                quantity=money.parse_quantity(str(self["quantity"].value() or "")),
                unit_price=money.parse_amount(str(self["unit_price"].value() or ""), self.currency),
                tax_rate=money.parse_tax_rate(str(self["tax_rate"].value() or "")),
            )
        except money.MoneyError:
            return None


class BaseLineFormSet(forms.BaseFormSet):
    default_error_messages = {
        "missing_management_form": "The lines could not be read. Type them again.",
        "too_many_forms": "An invoice can have at most %(num)d lines.",
        "too_few_forms": "Add at least %(num)d lines.",
    }

    def lines(self) -> list[dict]:
        """The lines typed, blank rows left out; call after is_valid()."""
        return [form.cleaned_data for form in self.forms if form.cleaned_data]

    def priced(self) -> list[money.LineAmounts]:
        """The rows that can be priced as typed so far, valid or not: the totals preview."""
        return [line for form in self.forms if not form.is_blank and (line := form.priced()) is not None]

    def has_lines(self) -> bool:
        return any(not form.is_blank for form in self.forms)


LineFormSet = forms.formset_factory(
    LineForm, formset=BaseLineFormSet, extra=0, max_num=MAX_LINES, absolute_max=MAX_LINES
)
LINES_PREFIX = "line"
BLANK_LINES = 3  # a new invoice shows three rows; an edited one its lines and one more


def lines_as_typed(lines, currency: str) -> list[dict]:
    """An invoice's or a schedule's saved lines as the editor shows them to be changed."""
    return [
        {
            "description": line.description,
            "quantity": money.format_number(line.quantity),
            "unit_price": money.format_plain(line.unit_price, currency),
            "tax_rate": money.format_number(line.tax_rate),
        }
        for line in lines
    ]


def add_blank_line(data) -> None:
    """ "Add line" without JavaScript: the page comes back with one more row (`data` is a mutable copy)."""
    key = f"{LINES_PREFIX}-TOTAL_FORMS"
    count = data.get(key, "")
    if count.isascii() and count.isdigit() and int(count) < MAX_LINES:
        data[key] = str(int(count) + 1)


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

    def __init__(self, *args, partner: Partner, lines: list[dict] | None = None, **kwargs):
        """`lines`: the rows to start from when the form is not bound (a draft's or a schedule's lines)."""
        super().__init__(*args, **kwargs)
        self.partner = partner
        currency = self.data.get("currency") if self.is_bound else self.initial.get("currency")
        if currency not in money.CURRENCY_EXPONENTS:
            currency = partner.default_currency  # and `currency` refuses it
        self.lines = LineFormSet(
            self.data if self.is_bound else None,
            prefix=LINES_PREFIX,
            initial=lines,
            form_kwargs={"currency": currency},  # prices are read in the invoice's currency
        )
        if not self.is_bound:
            self.lines.extra = max(BLANK_LINES - len(lines or []), 1)

    def clean(self):
        cleaned = super().clean()
        currency = cleaned.get("currency") or self.partner.default_currency
        cleaned["amount_minor"] = parse_money_field(self, "amount", currency)
        lines_valid = self.lines.is_valid()
        cleaned["lines"] = self.lines.lines() if lines_valid else []
        if not lines_valid:
            self.add_error(None, "Some lines need attention; see the messages beside them.")
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


class CreditNoteForm(KeyedForm, AmountForm):
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
