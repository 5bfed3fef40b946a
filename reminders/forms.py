from django import forms
from django.core.exceptions import ValidationError

from invoicing.forms import DayListField
from reminders.models import NotificationSettings


class DaysField(DayListField):
    """A few day counts, e.g. reminders 7 and 1 days before; stored sorted, without repeats."""

    MAX_DAYS = 6
    MAX_DAY = 90

    def clean(self, value) -> list[int]:
        days = sorted(set(super().clean(value)))
        if len(days) > self.MAX_DAYS:
            raise ValidationError(f"Enter at most {self.MAX_DAYS} days.")
        if any(not 1 <= day <= self.MAX_DAY for day in days):
            raise ValidationError(f"Each must be 1 to {self.MAX_DAY} days.")
        return days


class NotificationSettingsForm(forms.ModelForm):
    days_before_due = DaysField(
        label="Remind before the due date (days)",
        required=False,
        max_length=60,
        help_text="For example 7, 1: a week before and the day before. Leave empty for none.",
    )
    days_after_due = DaysField(
        label="Remind after the due date (days)",
        required=False,
        max_length=60,
        help_text="For example 3, 7, 14; each reminder is firmer than the one before. Leave empty for none.",
    )
    send_hour = forms.TypedChoiceField(
        label="Sending hour",
        coerce=int,
        choices=[(hour, f"{hour:02d}:00") for hour in range(24)],
        help_text="Reminders go out at this hour in your time zone.",
    )

    class Meta:
        model = NotificationSettings
        fields = [
            "email_on_creation",
            "attach_pdf",
            "days_before_due",
            "remind_on_due_date",
            "days_after_due",
            "send_hour",
            "catch_up_days",
            "send_receipts",
            "notify_customer_failed_charge",
            "alert_email",
        ]
