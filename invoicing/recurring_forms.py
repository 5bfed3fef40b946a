"""The "Add recurring payment" form: the invoice form's customer, amount or lines, currency, memo and
payment option, plus when invoices are issued and when they stop. Rules live in invoicing.recurring."""

import datetime

from django import forms

from invoicing.forms import InvoiceForm
from invoicing.models import RecurringEnd, RecurringFrequency
from invoicing.recurring import MAX_DAYS_UNTIL_DUE, MAX_END_COUNT, day_label

EVERY_N = (RecurringFrequency.EVERY_N_WEEKS, RecurringFrequency.EVERY_N_MONTHS)


ANCHOR_CHOICES = [("", "Same day as the start date")] + [(day, day_label(day)) for day in range(1, 32)]


class RecurringForm(InvoiceForm):
    due_date = None  # each invoice is due `days_until_due` after its issue date
    footer = None  # the partner's default footer, as it is when each invoice is issued

    frequency = forms.ChoiceField(choices=RecurringFrequency.choices, initial=RecurringFrequency.MONTHLY)
    interval = forms.IntegerField(
        label="Every how many weeks or months",
        required=False,
        min_value=1,
        max_value=52,
        help_text="For Every N weeks and Every N months.",
    )
    anchor_day = forms.TypedChoiceField(
        label="Day of the month",
        choices=ANCHOR_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
        help_text="Monthly, quarterly and yearly. A month without that day uses its last day.",
    )
    start_date = forms.DateField(
        label="First invoice on",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="With a day of the month, the first invoice is on that day on or after this date.",
    )
    end_mode = forms.ChoiceField(
        label="Ends", choices=RecurringEnd.choices, widget=forms.RadioSelect, initial=RecurringEnd.NEVER
    )
    end_count = forms.IntegerField(
        label="Number of invoices", required=False, min_value=1, max_value=MAX_END_COUNT
    )
    end_date = forms.DateField(
        label="Last invoice on or before", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    days_until_due = forms.IntegerField(
        label="Days until due",
        min_value=0,
        max_value=MAX_DAYS_UNTIL_DUE,
        help_text="Each invoice is due this many days after its period's date.",
    )

    def clean(self):
        cleaned = super().clean()
        frequency = cleaned.get("frequency")
        unit = "weeks" if frequency == RecurringFrequency.EVERY_N_WEEKS else "months"
        self._require("interval", frequency in EVERY_N, f"Enter the number of {unit} between invoices.")
        end_mode = cleaned.get("end_mode")
        self._require("end_count", end_mode == RecurringEnd.AFTER_COUNT, "Enter how many invoices to issue.")
        self._require("end_date", end_mode == RecurringEnd.ON_DATE, "Choose the date of the last invoice.")
        return cleaned

    def _require(self, field: str, needed: bool, message: str) -> None:
        """A field that only some choices need (the N of "every N", the end's count or date)."""
        if needed and self.cleaned_data.get(field) is None and not self.has_error(field):
            self.add_error(field, message)


def recurring_initial(partner) -> dict:
    return {
        "currency": partner.default_currency,
        "memo": partner.default_memo,
        "start_date": partner.today(),
        "days_until_due": partner.payment_terms_days,
        "frequency": RecurringFrequency.MONTHLY,
        "end_mode": RecurringEnd.NEVER,
    }


def parse_date(text: str | None) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(text) if text else None
    except ValueError:
        return None
