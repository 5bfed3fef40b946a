"""Every write about payments.

    applying   customer credit, and money received applied to invoices
    charging   starting charges of saved methods, exactly once (the rules are in its docstring)
    attempts   executing attempts and recording what the gateway said
    methods    saved payment methods and Auto-Pay
    offline    money received outside the gateway
    refunds    refunds, each with its own key
    webhooks   gateway webhooks
    processors each partner's processor account (Settings -> Payments)

Callers import from `payments.services`; the modules are how the code is read, not an API.
"""

from payments.services.applying import (
    credit_apply,
    credit_balance,
    credit_restore,
    receive_money,
)
from payments.services.attempts import (
    Outcome,
    attempt_call,
    attempt_execute,
    attempt_record,
    attempt_record_refusal,
    attempt_send,
    attempts_record,
)
from payments.services.charging import (
    attempt_build,
    attempt_event_fields,
    attempt_start,
    charge_invoice,
    collection_start,
    live_attempt_error,
    method_to_charge,
    methods_to_charge,
)
from payments.services.methods import (
    customer_set_autopay,
    payment_method_add,
    payment_method_new,
    payment_method_remove,
    payment_method_save,
    payment_method_set_default,
    payment_method_setup,
)
from payments.services.offline import (
    payment_record_offline,
)
from payments.services.processors import (
    WEBHOOK_EVENTS,
    processor_account_event,
    processor_connect_stripe,
    processor_disconnect,
    processor_manual_webhook_url,
    processor_set_webhook_secret,
    processor_use_sandbox,
    webhook_token_hash,
)
from payments.services.refunds import (
    refund_create,
    refund_execute,
    refunds_resolve_stale,
)
from payments.services.webhooks import (
    webhook_receive,
)

__all__ = [
    "WEBHOOK_EVENTS",
    "Outcome",
    "attempt_build",
    "attempt_call",
    "attempt_event_fields",
    "attempt_execute",
    "attempt_record",
    "attempt_record_refusal",
    "attempt_send",
    "attempt_start",
    "attempts_record",
    "charge_invoice",
    "collection_start",
    "credit_apply",
    "credit_balance",
    "credit_restore",
    "customer_set_autopay",
    "live_attempt_error",
    "method_to_charge",
    "methods_to_charge",
    "payment_method_add",
    "payment_method_new",
    "payment_method_remove",
    "payment_method_save",
    "payment_method_set_default",
    "payment_method_setup",
    "payment_record_offline",
    "processor_account_event",
    "processor_connect_stripe",
    "processor_disconnect",
    "processor_manual_webhook_url",
    "processor_set_webhook_secret",
    "processor_use_sandbox",
    "receive_money",
    "refund_create",
    "refund_execute",
    "refunds_resolve_stale",
    "webhook_receive",
    "webhook_token_hash",
]
