from django.contrib import admin

from reminders.models import CapturedEmail


@admin.register(CapturedEmail)
class CapturedEmailAdmin(admin.ModelAdmin):
    list_display = ["subject", "to", "from_email", "created_at"]
    search_fields = ["subject", "to"]
    date_hierarchy = "created_at"
    readonly_fields = ["from_email", "to", "subject", "created_at"]
    exclude = ["raw"]
