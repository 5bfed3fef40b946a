import re

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from customers.models import Customer
from customers.services import EDITABLE_FIELDS
from partners.forms import CountryCodeField


class EmailListField(forms.CharField):
    """Addresses typed one per line or separated by commas; cleans to a list, redisplays as typed."""

    widget = forms.Textarea(attrs={"rows": 2})
    separators = re.compile(r"[\s,;]+")

    def prepare_value(self, value):
        # The saved list when the form is unbound, the raw text when redisplaying what was typed.
        return "\n".join(value) if isinstance(value, list | tuple) else value

    def to_python(self, value) -> list[str]:
        text = super().to_python(value)
        return [address for address in self.separators.split(text) if address]

    def validate(self, value: list[str]) -> None:
        super().validate(value)
        bad = []
        for address in value:
            try:
                validate_email(address)
            except ValidationError:
                bad.append(address)
        if len(bad) == 1:
            raise ValidationError(f"“{bad[0]}” is not a valid email address.", code="invalid")
        if bad:
            listed = ", ".join(f"“{address}”" for address in bad)
            raise ValidationError(f"These are not valid email addresses: {listed}.", code="invalid")


class CustomerForm(forms.ModelForm):
    cc_emails = EmailListField(
        label="CC emails",
        required=False,
        help_text="Also sent invoices and reminders. One per line, or separated by commas.",
    )
    country = CountryCodeField()

    class Meta:
        model = Customer
        fields = list(EDITABLE_FIELDS)
        widgets = {
            "email": forms.EmailInput(attrs={"autocomplete": "off"}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {"email": "Invoices, receipts and reminders go here."}
