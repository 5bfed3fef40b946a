"""The gateway a partner collects with: its connected processor account (Settings -> Payments), else the
sandbox. `settings.PAYMENT_GATEWAY` names the sandbox's class, `settings.STRIPE_GATEWAY` Stripe's."""

import functools

from django.conf import settings
from django.utils.module_loading import import_string
from django_scopes import scopes_disabled

from core.encryption import decrypt
from payments.gateways.base import Gateway, GatewayError

SANDBOX = "sandbox"  # payments.models.Processor.SANDBOX: this package loads before the app's models


@functools.cache
def _gateway(path: str, options: tuple) -> Gateway:
    return import_string(path)(**dict(options))


def sandbox_gateway() -> Gateway:
    return _gateway(settings.PAYMENT_GATEWAY, tuple(sorted(settings.PAYMENT_GATEWAY_OPTIONS.items())))


@functools.lru_cache(maxsize=512)
def _account_gateway(path: str, pk: int, version: str, options: tuple) -> Gateway:
    """One per account and version of its row: a changed key makes a new one."""
    return import_string(path)(**dict(options))


def gateway_for_account(account) -> Gateway:
    """The gateway of a payments.models.ProcessorAccount."""
    if account.processor == SANDBOX:
        return sandbox_gateway()
    if not account.is_connected:
        raise GatewayError(
            "This business's Stripe account is disconnected: reconnect it in Settings, Payments."
        )
    options = {
        "secret_key": settings.STRIPE_CONNECT_SECRET_KEY
        if account.connect_account_id
        else decrypt(account.secret_key_encrypted),
        "publishable_key": account.publishable_key,
        "webhook_secret": decrypt(account.webhook_secret_encrypted),
        "account": account.connect_account_id,
        "api_base": settings.STRIPE_API_BASE,
        "timeout": settings.STRIPE_TIMEOUT_SECONDS,
    }
    return _account_gateway(
        settings.STRIPE_GATEWAY, account.pk, account.updated_at.isoformat(), tuple(sorted(options.items()))
    )


def processor_account(partner):
    """The partner's payments.models.ProcessorAccount, or None (the sandbox)."""
    from payments.models import ProcessorAccount  # the sandbox app imports this package at start-up

    with scopes_disabled():  # workers and the janitor ask across partners
        return ProcessorAccount.objects.filter(partner_id=getattr(partner, "pk", partner)).first()


def get_gateway(partner=None, *, processor: str | None = None) -> Gateway:
    """The partner's gateway, or the one named by `processor` (what a saved method or an attempt was
    made with: a Stripe card is charged through Stripe even after the partner chose the sandbox).
    Without a partner: the sandbox (its clock, its webhooks)."""
    account = processor_account(partner) if partner is not None else None
    current = account.processor if account is not None and account.is_connected else SANDBOX
    wanted = processor or current
    if wanted == SANDBOX:
        return sandbox_gateway()
    if account is None or account.processor != wanted:
        raise GatewayError(f"This business has no {wanted.title()} account connected.")
    return gateway_for_account(account)
