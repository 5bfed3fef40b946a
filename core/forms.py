"""Form helpers shared by every app's views."""

from django import forms
from django.core.exceptions import ValidationError
from django.forms import Form

from core.idempotency import KEY, new_key


def apply_errors(form: Form, error: ValidationError, field_map: dict[str, str] | None = None) -> None:
    """Show a service's ValidationError next to the field it names, or above the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, errors in error.message_dict.items():
        field = (field_map or {}).get(name, name)
        for message in errors:
            form.add_error(field if field in form.fields else None, message)


class KeyedForm(forms.Form):
    """A form that moves money or issues a document: it carries, in a hidden field, the idempotency key
    made when it was drawn, so submitting it twice (a double click, Back and submit again) does it once.
    The service it is handed to stores the key and answers a repeat with the first result
    (core.idempotency.once)."""

    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=100, required=False)
    out_of_date = "This form is out of date. Reload the page and try again."

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound and not self.initial.get("idempotency_key"):
            self.initial = {**self.initial, "idempotency_key": new_key()}

    def clean_idempotency_key(self) -> str:
        key = self.cleaned_data["idempotency_key"]
        if not KEY.match(key):
            # A hidden field has no place beside it to show an error: it goes above the form.
            self.add_error(None, self.out_of_date)
        return key
