from django import forms

from core.forms import KeyedForm
from payments.forms import BankAccountForm, CardReferenceForm


class FreshLinkForm(forms.Form):
    """On a dead pay link: the customer's email, to send a fresh link to the address on file."""

    email = forms.EmailField(
        label="Your email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={"required": "Enter your email address.", "invalid": "Enter an email address."},
    )


class LookupForm(FreshLinkForm):
    """The address printed on PDFs: the invoice number and the customer's email."""

    field_order = ["number", "email"]

    number = forms.CharField(
        label="Invoice number",
        max_length=40,
        error_messages={"required": "Enter the invoice number printed on the invoice."},
    )


class ConfirmPaymentForm(KeyedForm):
    """Hidden fields only: the method shown and the key made when the confirm step was drawn."""

    method = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    out_of_date = "This form is out of date. Go back to the invoice and try again."


class _PayNewFields(KeyedForm):
    """What the one-form payment adds to the partner's card and bank forms: the key made when the page was
    drawn (a double submit charges once), and whether to keep the method and turn on Auto-Pay."""

    save_method = forms.BooleanField(label="Save it for next time", required=False)
    autopay = forms.BooleanField(
        label="Turn on Auto-Pay: future invoices are charged to it on their due date", required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["make_default"]  # a method saved here becomes the default when Auto-Pay is on

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("autopay") and not cleaned.get("save_method"):
            self.add_error("autopay", "Auto-Pay needs a saved method: tick “Save it for next time” too.")
        return cleaned


class PayNewCardForm(_PayNewFields, CardReferenceForm):
    pass


class PayNewBankAccountForm(_PayNewFields, BankAccountForm):
    pass


PAY_NEW_FORMS = {"card": PayNewCardForm, "bank_account": PayNewBankAccountForm}
