from django.contrib import admin

from invoicing.models import (
    CreditNote,
    Invoice,
    InvoiceEvent,
    InvoiceLine,
    InvoicePdf,
    NumberCounter,
    RecurringLine,
    RecurringRun,
    RecurringSchedule,
)
from partners.admin import ReadOnlyAdmin


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    readonly_fields = ["amount", "tax_amount"]
    exclude = ["partner"]


class InvoiceEventInline(admin.TabularInline):
    model = InvoiceEvent
    extra = 0
    can_delete = False
    readonly_fields = ["kind", "message", "actor", "actor_label", "data", "created_at"]
    exclude = ["partner"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = ["__str__", "partner", "customer", "status", "currency", "total", "amount_due", "due_date"]
    list_filter = ["status", "currency", "payment_option"]
    search_fields = ["number", "customer__name", "customer__company", "customer__email", "partner__name"]
    list_select_related = ["partner", "customer"]
    raw_id_fields = ["partner", "customer", "payment_method", "created_by"]
    readonly_fields = ["seller", "buyer", "version", "created_at", "updated_at", "finalized_at", "paid_at"]
    date_hierarchy = "created_at"
    inlines = [InvoiceLineInline, InvoiceEventInline]
    show_full_result_count = False  # no COUNT(*) over a large table


@admin.register(InvoiceEvent)
class InvoiceEventAdmin(ReadOnlyAdmin):  # the timeline is the activity log: read-only everywhere
    list_display = ["invoice", "kind", "message", "actor", "created_at"]
    list_filter = ["kind"]
    search_fields = ["invoice__number", "message"]
    raw_id_fields = ["partner", "invoice", "actor"]
    show_full_result_count = False


@admin.register(CreditNote)
class CreditNoteAdmin(admin.ModelAdmin):
    list_display = ["number", "invoice", "partner", "amount", "currency", "reason", "created_at"]
    search_fields = ["number", "invoice__number", "reason"]
    list_select_related = ["invoice", "partner"]
    raw_id_fields = ["partner", "invoice", "created_by"]


@admin.register(NumberCounter)
class NumberCounterAdmin(admin.ModelAdmin):
    list_display = ["partner", "kind", "year", "next_value"]
    list_filter = ["kind"]
    search_fields = ["partner__name"]
    list_select_related = ["partner"]


@admin.register(InvoicePdf)
class InvoicePdfAdmin(admin.ModelAdmin):
    list_display = ["invoice", "version", "partner", "created_at"]
    search_fields = ["invoice__number"]
    raw_id_fields = ["partner", "invoice"]
    exclude = ["content"]


@admin.register(InvoiceLine)
class InvoiceLineAdmin(admin.ModelAdmin):
    list_display = ["description", "invoice", "quantity", "unit_price", "tax_rate", "amount", "tax_amount"]
    search_fields = ["description", "invoice__number"]
    raw_id_fields = ["partner", "invoice"]
    show_full_result_count = False


class RecurringLineInline(admin.TabularInline):
    model = RecurringLine
    extra = 0
    exclude = ["partner"]


@admin.register(RecurringSchedule)
class RecurringScheduleAdmin(admin.ModelAdmin):
    list_display = ["__str__", "partner", "customer", "status", "frequency", "next_period_date", "problem"]
    list_filter = ["status", "frequency", "payment_option"]
    search_fields = ["customer__name", "customer__company", "customer__email", "partner__name"]
    list_select_related = ["partner", "customer"]
    raw_id_fields = ["partner", "customer", "payment_method", "created_by"]
    inlines = [RecurringLineInline]


@admin.register(RecurringRun)
class RecurringRunAdmin(ReadOnlyAdmin):  # what the job did, per period: history, never edited
    list_display = ["schedule", "period_date", "outcome", "invoice", "partner", "created_at"]
    list_filter = ["outcome"]
    search_fields = ["invoice__number", "note"]
    list_select_related = ["schedule", "invoice", "partner"]
    raw_id_fields = ["partner", "schedule", "invoice"]


@admin.register(RecurringLine)
class RecurringLineAdmin(admin.ModelAdmin):
    list_display = ["description", "schedule", "quantity", "unit_price", "tax_rate"]
    search_fields = ["description"]
    raw_id_fields = ["partner", "schedule"]
