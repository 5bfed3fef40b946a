from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from partners.models import Partner, Role, User
from partners.ratelimit import client_ip, rate_limit_allows, rate_limit_forgive, rate_limit_reset
from partners.services import logo_validate

SIGN_IN_SCOPE = "sign-in"


class CountryCodeField(forms.CharField):
    """A two-letter country code. Accepts longer input so "United States" gets this message, not
    "at most 2 characters"."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 60)
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "Two-letter code, e.g. US.")
        super().__init__(**kwargs)

    def clean(self, value) -> str:
        country = super().clean(value).strip().upper()
        if country and (len(country) != 2 or not country.isalpha()):
            raise ValidationError("Use the two-letter country code, e.g. US, GB or DE.")
        return country


class SignInLimitMixin:
    """Sign-in attempts limited per address and per email, so guessing is slow from anywhere. Every
    attempt counts before the password is checked; a right one forgets that email's failures and is
    taken back from the address, so an office behind one address is not locked out by its own team.
    Shared by the app's sign-in and the admin's: one limit, whichever page is guessed at."""

    rate_limited = "Too many sign-in attempts. Wait 15 minutes, or reset your password."

    def clean(self):
        email = (self.data.get("username") or "").strip().lower()
        address = [f"ip:{client_ip(self.request)}"] if self.request else []
        keys = [*address, f"email:{email}"]
        if not rate_limit_allows(scope=SIGN_IN_SCOPE, keys=keys, rate=settings.SIGN_IN_RATE_LIMIT):
            raise ValidationError(self.rate_limited, code="rate_limited")
        cleaned = super().clean()  # a wrong password raises here: the attempt stays counted
        if self.get_user() is not None:
            rate_limit_reset(scope=SIGN_IN_SCOPE, keys=[f"email:{email}"])
            rate_limit_forgive(scope=SIGN_IN_SCOPE, keys=address)
        return cleaned


class SignInForm(SignInLimitMixin, AuthenticationForm):
    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True})
    )

    error_messages = {
        "invalid_login": "That email and password don't match an account. Check both and try again.",
        "inactive": "This account is disabled. Ask your business's owner or the platform admin.",
    }


class AdminSignInForm(SignInLimitMixin, AdminAuthenticationForm):
    """The admin's own sign-in form (AdminSite.login_form) under the same limit."""


class PartnerDetailsForm(forms.ModelForm):
    logo_upload = forms.FileField(
        label="Logo",
        required=False,
        help_text="PNG, JPEG or WebP, up to 1 MB. Shown on invoices, emails and the pay page.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
    )
    remove_logo = forms.BooleanField(label="Remove the current logo", required=False)
    website = forms.URLField(required=False, assume_scheme="https")
    country = CountryCodeField()

    class Meta:
        model = Partner
        fields = [
            "name",
            "legal_name",
            "email",
            "phone",
            "website",
            "tax_id",
            "address_line1",
            "address_line2",
            "city",
            "region",
            "postal_code",
            "country",
            "brand_colour",
            "default_currency",
            "timezone",
            "locale",
        ]
        widgets = {"brand_colour": forms.TextInput(attrs={"type": "color"})}
        help_texts = {"brand_colour": "Buttons and headings on your invoices and pay page use it."}

    def clean_logo_upload(self):
        upload = self.cleaned_data.get("logo_upload")
        if not upload:
            return None
        return logo_validate(upload)


class InvitationForm(forms.Form):
    email = forms.EmailField(label="Email address")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)

    def __init__(self, *args, actor_is_owner: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not actor_is_owner:
            self.fields["role"].choices = [c for c in Role.choices if c[0] != Role.OWNER]


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class AcceptInvitationForm(forms.Form):
    full_name = forms.CharField(label="Your name", max_length=150)
    password = forms.CharField(
        label="Choose a password", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        password_validation.validate_password(
            password, User(email=self.email, full_name=self.data.get("full_name", ""))
        )
        return password
