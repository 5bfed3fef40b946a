"""The processor account each partner collects into: connecting Stripe (keys checked with a live call,
a webhook endpoint of its own), disconnecting, going back to the sandbox, and what Stripe says about the
account later (updated, deauthorized), which pauses or resumes automatic charging."""

import hashlib
import logging
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string
from django_scopes import scopes_disabled

from core.encryption import decrypt, encrypt
from partners.models import AuditKind, Partner, User
from partners.services import audit_record
from payments.gateways import gateway_for_account
from payments.gateways.base import GatewayError
from payments.models import Processor, ProcessorAccount, ProcessorStatus

logger = logging.getLogger(__name__)

# What the app needs to hear about (docs/stripe.md lists them for a hand-made endpoint).
WEBHOOK_EVENTS = [
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.processing",
    "payment_intent.requires_action",
    "charge.refunded",
    "charge.refund.updated",
    "charge.dispute.created",
    "charge.dispute.updated",
    "charge.dispute.closed",
    "charge.dispute.funds_withdrawn",
    "charge.dispute.funds_reinstated",
    "account.updated",
    "account.application.deauthorized",
]


def webhook_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _account_row(partner: Partner) -> ProcessorAccount:
    account = ProcessorAccount.objects.select_for_update().filter(partner=partner).first()
    return account or ProcessorAccount(partner=partner)


@transaction.atomic
def processor_connect_stripe(
    *, partner: Partner, secret_key: str, publishable_key: str, actor: User | None
) -> ProcessorAccount:
    """Check the keys with a live call, create this account's webhook endpoint at its own unguessable
    URL, and keep the keys encrypted. Raises ValidationError (per field) when Stripe refuses them."""
    probe = _probe(secret_key, publishable_key)
    try:
        live = probe.account()
    except GatewayError:  # Stripe's message repeats part of the key: say it in our words
        raise ValidationError(
            {"secret_key": "Stripe refused this key. Copy the whole secret key of the account again."}
        ) from None
    token = secrets.token_urlsafe(32)
    try:
        endpoint = probe.webhook_endpoint_create(stripe_webhook_url(token), WEBHOOK_EVENTS)
    except GatewayError as error:
        logger.warning(
            "Creating a webhook endpoint for partner %s failed: %s", partner.pk, type(error).__name__
        )
        raise ValidationError(
            {"secret_key": "Stripe did not create the webhook endpoint. Try again in a minute."}
        ) from None
    endpoint_id, signing_secret = endpoint or ("", "")
    account = _account_row(partner)
    account.processor, account.status = Processor.STRIPE, ProcessorStatus.CONNECTED
    account.secret_key_encrypted = encrypt(secret_key)
    account.publishable_key = publishable_key
    account.webhook_secret_encrypted = encrypt(signing_secret) if signing_secret else ""
    account.webhook_token_hash, account.webhook_endpoint_id = webhook_token_hash(token), endpoint_id
    # The key may not create endpoints: the partner adds this URL in Stripe's Dashboard, so keep it.
    account.webhook_token_encrypted = "" if endpoint else encrypt(token)
    account.account_id = live.id
    profile = live.business_profile
    account.account_name = (profile.name if profile else "") or live.settings.dashboard.display_name or ""
    account.country, account.default_currency = live.country or "", (live.default_currency or "").upper()
    account.livemode = not probe.test_mode
    account.charging_paused_reason = "" if live.charges_enabled else "Stripe has not enabled charges yet."
    account.connected_at, account.disconnected_at = timezone.now(), None
    account.save()
    audit_record(
        partner=partner,
        kind=AuditKind.PAYMENT_PROCESSOR_CHANGED,
        actor=actor,
        message=f"Connected Stripe account {account.account_name or live.id} ({live.id})",
    )
    return account


def stripe_webhook_url(token: str) -> str:
    return settings.SITE_URL + reverse("stripe_webhook", kwargs={"token": token})


def processor_manual_webhook_url(account: ProcessorAccount) -> str:
    """The webhook URL the partner adds by hand in Stripe's Dashboard ("" if Stripe made the endpoint)."""
    if account.webhook_endpoint_id or not account.webhook_token_encrypted:
        return ""
    return stripe_webhook_url(decrypt(account.webhook_token_encrypted))


@transaction.atomic
def processor_set_webhook_secret(*, partner: Partner, signing_secret: str, actor: User | None) -> None:
    """The signing secret of the endpoint the partner added by hand (Stripe shows it as whsec_…)."""
    account = ProcessorAccount.objects.select_for_update().filter(partner=partner).first()
    if account is None or account.processor != Processor.STRIPE or not account.is_connected:
        raise ValidationError("Connect Stripe first.")
    account.webhook_secret_encrypted = encrypt(signing_secret)
    account.save(update_fields=["webhook_secret_encrypted", "updated_at"])
    audit_record(
        partner=partner,
        kind=AuditKind.PAYMENT_PROCESSOR_CHANGED,
        actor=actor,
        message="Saved the signing secret of the Stripe webhook endpoint added by hand",
    )


def _probe(secret_key: str, publishable_key: str):
    """A gateway for keys not saved yet (the live check)."""
    return import_string(settings.STRIPE_GATEWAY)(
        secret_key=secret_key,
        publishable_key=publishable_key,
        api_base=settings.STRIPE_API_BASE,
        timeout=settings.STRIPE_TIMEOUT_SECONDS,
    )


@transaction.atomic
def processor_disconnect(*, partner: Partner, actor: User | None) -> ProcessorAccount | None:
    """Forget the keys (the webhook endpoint is deleted at Stripe if it still answers). Saved Stripe
    cards stay listed but can't be charged until Stripe is connected again."""
    account = ProcessorAccount.objects.select_for_update().filter(partner=partner).first()
    if account is None or not account.is_connected or account.processor != Processor.STRIPE:
        return account
    try:
        if account.webhook_endpoint_id:
            gateway_for_account(account).client.v1.webhook_endpoints.delete(account.webhook_endpoint_id)
    except Exception as error:
        logger.info("Deleting partner %s's webhook endpoint failed: %s", partner.pk, type(error).__name__)
    _forget(account, reason="Automatic charges wait until Stripe is connected again.")
    audit_record(
        partner=partner,
        kind=AuditKind.PAYMENT_PROCESSOR_CHANGED,
        actor=actor,
        message=f"Disconnected Stripe account {account.account_name or account.account_id}",
    )
    return account


def _forget(account: ProcessorAccount, *, reason: str) -> None:
    account.status = ProcessorStatus.DISCONNECTED
    account.secret_key_encrypted = account.webhook_secret_encrypted = account.webhook_token_encrypted = ""
    account.disconnected_at = timezone.now()
    account.charging_paused_reason = reason
    account.save()


@transaction.atomic
def processor_use_sandbox(*, partner: Partner, actor: User | None) -> None:
    account = ProcessorAccount.objects.select_for_update().filter(partner=partner).first()
    if account is not None and account.processor == Processor.STRIPE and account.is_connected:
        raise ValidationError("Disconnect Stripe first.")
    if account is not None:
        account.delete()


def processor_account_event(*, account: ProcessorAccount, event_type: str) -> str:
    """Stripe says the account changed: re-read it (the event is only a trigger) and pause or resume
    automatic charging; a deauthorized account is disconnected."""
    with scopes_disabled():  # Stripe calls: the account names the partner
        if event_type == "account.application.deauthorized":
            with transaction.atomic():
                account = ProcessorAccount.objects.select_for_update().get(pk=account.pk)
                _forget(
                    account, reason="The Stripe account disconnected this app: automatic charges are paused."
                )
                audit_record(
                    partner=account.partner,
                    kind=AuditKind.PAYMENT_PROCESSOR_CHANGED,
                    actor=None,
                    actor_label="Stripe",
                    message="The Stripe account revoked this app's access",
                )
            return "disconnected"
        live = gateway_for_account(account).account()
        with transaction.atomic():
            account = ProcessorAccount.objects.select_for_update().get(pk=account.pk)
            reason = (
                ""
                if live.charges_enabled
                else "Stripe has disabled charges on this account: automatic charges are paused."
            )
            if reason != account.charging_paused_reason:
                account.charging_paused_reason = reason
                account.save(update_fields=["charging_paused_reason", "updated_at"])
        return "paused" if reason else "resumed"
