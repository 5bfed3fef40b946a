"""Forms of the customer account portal."""

from django import forms

from core.forms import KeyedForm
from customers.forms import CustomerForm
from payments.forms import method_label


class PayInvoicesForm(KeyedForm):
    """Pay the ticked open invoices of one currency with one saved method (one charge per invoice)."""

    invoices = forms.TypedMultipleChoiceField(
        label="Invoices to pay",
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Tick at least one invoice to pay."},
    )
    method = forms.TypedChoiceField(label="Pay with", coerce=int)
    currency = forms.CharField(widget=forms.HiddenInput, max_length=3)

    def __init__(self, *args, invoices, methods, today, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["invoices"].choices = [(invoice.pk, invoice.number) for invoice in invoices]
        self.fields["method"].choices = [
            (m.pk, method_label(m, today)) for m in methods if not m.is_expired_on(today)
        ]


class BillingDetailsForm(CustomerForm):
    """What a customer may change about themselves. Not the email: it is what they sign in with and where
    invoices go, so changing it is the partner's call."""

    class Meta(CustomerForm.Meta):
        fields = [
            "name",
            "company",
            "cc_emails",
            "phone",
            "tax_id",
            "address_line1",
            "address_line2",
            "city",
            "region",
            "postal_code",
            "country",
        ]
        help_texts = {}
