from django.contrib import admin

from payments.models import Payment, PaymentMethod


@admin.register(PaymentMethod)
class PaymentMethodAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "customer",
        "partner",
        "kind",
        "exp_month",
        "exp_year",
        "is_default",
        "removed_at",
    ]
    list_filter = ["kind", "is_default", "gateway"]
    search_fields = ["customer__name", "customer__email", "last4", "partner__name"]
    list_select_related = ["customer", "partner"]
    raw_id_fields = ["partner", "customer"]
    readonly_fields = ["gateway_token"]


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = [
        "invoice",
        "customer",
        "partner",
        "amount",
        "currency",
        "method",
        "received_on",
        "created_at",
    ]
    list_filter = ["method", "currency"]
    search_fields = ["invoice__number", "customer__name", "reference", "partner__name"]
    list_select_related = ["invoice", "customer", "partner"]
    raw_id_fields = ["partner", "invoice", "customer", "recorded_by"]
