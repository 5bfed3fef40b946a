from django.contrib import admin

from core.models import PendingTask


@admin.register(PendingTask)
class PendingTaskAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at", "attempts", "last_error"]
    search_fields = ["name"]
    readonly_fields = ["name", "kwargs", "created_at", "attempts", "last_error"]
