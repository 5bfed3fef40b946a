from django.contrib import admin

from customers.models import Customer


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "company", "email", "partner", "country", "archived_at", "created_at"]
    list_filter = ["archived_at", "country"]
    search_fields = ["name", "company", "email", "partner__name"]
    list_select_related = ["partner"]
    raw_id_fields = ["partner"]
