from django import forms

from api.models import ApiKeyScope
from api.webhooks.catalogue import EVENT_TYPES


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What will use it, e.g. “HaloPSA sync”.")
    scope = forms.ChoiceField(choices=ApiKeyScope.choices, initial=ApiKeyScope.READ)


class WebhookEndpointForm(forms.Form):
    url = forms.CharField(
        label="URL", max_length=1000, help_text="Starting with https, and reachable from the internet."
    )
    description = forms.CharField(max_length=200, required=False)
    event_types = forms.MultipleChoiceField(
        choices=[(name, name) for name in EVENT_TYPES],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one event type."},
    )
