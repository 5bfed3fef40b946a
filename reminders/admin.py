from django.contrib import admin

from reminders.models import (
    CapturedEmail,
    EmailEvent,
    Notification,
    NotificationSettings,
    OutboundEmail,
    SuppressedAddress,
)


@admin.register(CapturedEmail)
class CapturedEmailAdmin(admin.ModelAdmin):
    list_display = ["subject", "to", "from_email", "created_at"]
    search_fields = ["subject", "to"]
    date_hierarchy = "created_at"
    readonly_fields = ["from_email", "to", "subject", "created_at"]
    exclude = ["raw"]


@admin.register(NotificationSettings)
class NotificationSettingsAdmin(admin.ModelAdmin):
    list_display = ["partner", "email_on_creation", "days_before_due", "days_after_due", "send_hour"]
    search_fields = ["partner__name"]
    raw_id_fields = ["partner"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["invoice", "kind", "offset_days", "key", "status", "send_at", "skip_reason"]
    list_filter = ["kind", "status"]
    search_fields = ["invoice__number", "partner__name", "key"]
    list_select_related = ["invoice"]
    raw_id_fields = ["partner", "invoice"]
    date_hierarchy = "send_at"


class EmailEventInline(admin.TabularInline):
    model = EmailEvent
    extra = 0
    fields = ["occurred_at", "event_type", "recipient", "description"]
    readonly_fields = fields
    can_delete = False


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    list_display = ["subject", "kind", "status", "partner", "invoice", "created_at", "sent_at", "tries"]
    list_filter = ["kind", "status"]
    search_fields = ["subject", "esp_message_id", "invoice__number", "partner__name"]
    list_select_related = ["partner", "invoice"]
    raw_id_fields = ["partner", "invoice", "notification", "created_by"]
    date_hierarchy = "created_at"
    inlines = [EmailEventInline]


@admin.register(EmailEvent)
class EmailEventAdmin(admin.ModelAdmin):
    list_display = ["email", "event_type", "recipient", "occurred_at"]
    list_filter = ["event_type"]
    search_fields = ["recipient", "email__esp_message_id"]
    raw_id_fields = ["partner", "email"]


@admin.register(SuppressedAddress)
class SuppressedAddressAdmin(admin.ModelAdmin):
    list_display = ["address", "partner", "reason", "created_at"]
    search_fields = ["address", "partner__name"]
    raw_id_fields = ["partner", "email"]
