from django.contrib import admin

from payments.admin import ReadOnlyLedgerAdmin
from payments.gateways.sandbox.models import SandboxCharge, SandboxEvent, SandboxRefund


@admin.register(SandboxCharge)
class SandboxChargeAdmin(ReadOnlyLedgerAdmin):
    list_display = [
        "charge_id",
        "amount",
        "currency",
        "status",
        "decline_code",
        "amount_refunded",
        "created_at",
    ]
    list_filter = ["status", "decline_code"]
    search_fields = ["charge_id", "idempotency_key"]


@admin.register(SandboxRefund)
class SandboxRefundAdmin(ReadOnlyLedgerAdmin):
    list_display = ["refund_id", "charge", "amount", "created_at"]
    search_fields = ["refund_id", "idempotency_key"]


@admin.register(SandboxEvent)
class SandboxEventAdmin(ReadOnlyLedgerAdmin):
    list_display = ["event_id", "type", "charge_id", "created_at", "delivered_at"]
    list_filter = ["type"]
