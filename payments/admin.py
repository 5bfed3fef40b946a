from django.contrib import admin

from customers.models import PaymentMethod
from payments.models import (
    CustomerCredit,
    Dispute,
    PayLink,
    Payment,
    PaymentAttempt,
    PortalSignInLink,
    ProcessorAccount,
    Refund,
    WebhookDelivery,
)


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


class ReadOnlyLedgerAdmin(admin.ModelAdmin):
    """Money ledgers are written by payments services only; admins look, they don't edit."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PaymentAttempt)
class PaymentAttemptAdmin(ReadOnlyLedgerAdmin):
    list_display = [
        "id",
        "invoice",
        "partner",
        "amount",
        "currency",
        "status",
        "trigger",
        "try_number",
        "created_at",
    ]
    list_filter = ["status", "trigger", "gateway", "hard_decline"]
    search_fields = ["invoice__number", "idempotency_key", "gateway_charge_id", "partner__name"]
    list_select_related = ["invoice", "partner"]


@admin.register(Refund)
class RefundAdmin(ReadOnlyLedgerAdmin):
    list_display = ["id", "invoice", "partner", "amount", "currency", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["invoice__number", "idempotency_key", "gateway_refund_id", "partner__name"]
    list_select_related = ["invoice", "partner"]


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyLedgerAdmin):
    list_display = [
        "gateway_dispute_id",
        "invoice",
        "partner",
        "status",
        "amount",
        "currency",
        "evidence_due_by",
    ]
    list_filter = ["status"]
    search_fields = ["invoice__number", "gateway_dispute_id", "partner__name"]
    list_select_related = ["invoice", "partner"]


@admin.register(CustomerCredit)
class CustomerCreditAdmin(ReadOnlyLedgerAdmin):
    list_display = ["customer", "partner", "amount", "currency", "kind", "invoice", "created_at"]
    list_filter = ["kind", "currency"]
    search_fields = ["customer__name", "customer__email", "invoice__number", "partner__name"]
    list_select_related = ["customer", "partner", "invoice"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyLedgerAdmin):
    list_display = ["event_id", "gateway", "event_type", "charge_id", "received_at"]
    list_filter = ["gateway", "event_type"]
    search_fields = ["event_id", "charge_id"]


@admin.register(PayLink)
class PayLinkAdmin(ReadOnlyLedgerAdmin):
    """Only the token's hash is kept, so there is no link here to copy; partners reissue from the invoice."""

    list_display = ["id", "invoice", "partner", "expires_at", "revoked_at", "last_viewed_at", "created_at"]
    list_filter = ["revoked_at"]
    search_fields = ["invoice__number", "partner__name"]
    list_select_related = ["invoice", "partner"]
    exclude = ["token_hash"]


@admin.register(PortalSignInLink)
class PortalSignInLinkAdmin(ReadOnlyLedgerAdmin):
    """Customers' magic sign-in links: when asked for and used. Only the token's hash is kept."""

    list_display = ["id", "customer", "partner", "expires_at", "used_at", "created_at"]
    list_filter = ["used_at"]
    search_fields = ["customer__email", "partner__name"]
    list_select_related = ["customer", "partner"]
    exclude = ["token_hash"]


@admin.register(ProcessorAccount)
class ProcessorAccountAdmin(admin.ModelAdmin):
    """Read-only, and never the secrets: partners connect and disconnect in Settings -> Payments."""

    list_display = ["partner", "processor", "status", "account_id", "account_name", "charging_paused_reason"]
    list_filter = ["processor", "status"]
    search_fields = ["partner__name", "account_id", "account_name"]
    list_select_related = ["partner"]
    exclude = ["secret_key_encrypted", "webhook_secret_encrypted", "webhook_token_hash"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
