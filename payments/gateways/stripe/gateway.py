"""The Stripe adapter: one partner's Stripe account, through the official SDK.

- A saved method is a Stripe Customer with one PaymentMethod, set up in the browser by Stripe.js
  confirming a SetupIntent; our token is `<customer id>/<payment method id>`.
- A charge is a PaymentIntent for that customer and method, `off_session` and `confirm`ed, sent with the
  attempt's idempotency key and metadata naming the key, the attempt, the invoice and the partner.
- No answer (timeout, connection lost, 5xx) or 409 (the same key still in flight) is "outcome unknown":
  `find_charge` then lists the customer's PaymentIntents since the attempt began and matches the key in
  their metadata (Stripe's Search is eventually consistent, so it could miss a charge just made).
- Each request waits `timeout` seconds (25) and is retried once by the SDK with the same key, which
  stays well inside the janitor's staleness (PAYMENT_ATTEMPT_STALE_SECONDS).
- Webhooks are verified with the account's signing secret, at most 5 minutes old.
"""

import datetime
import logging
from collections.abc import Mapping

import stripe

from payments.gateways.base import (
    Charge,
    ChargeStatus,
    Dispute,
    DisputeStatus,
    Gateway,
    GatewayError,
    GatewayUnavailable,
    IdempotencyConflict,
    MethodKind,
    MethodRejected,
    MethodSetup,
    RefundResult,
    SavedMethod,
    WebhookEvent,
    WebhookInvalid,
)

logger = logging.getLogger(__name__)

KEY_FIELD = "idempotency_key"  # the metadata field the janitor looks charges up by
SIGNATURE_TOLERANCE_SECONDS = 300
# A listing looks this much before the attempt began: the two clocks are not the same clock.
CLOCK_SLACK = datetime.timedelta(minutes=5)
LISTING_PAGES = 20

# Stripe's decline codes after which the same method must not be tried again
# (docs.stripe.com/declines/codes: "The customer needs to use another card").
HARD_DECLINES = {
    "do_not_try_again",
    "expired_card",
    "fraudulent",
    "incorrect_number",
    "invalid_account",
    "lost_card",
    "merchant_blacklist",
    "new_account_information_available",
    "pickup_card",
    "restricted_card",
    "revocation_of_all_authorizations",
    "revocation_of_authorization",
    "security_violation",
    "service_not_allowed",
    "stolen_card",
    "stop_payment_order",
    "transaction_not_allowed",
}
AUTHENTICATION_CODES = {"authentication_required", "payment_intent_authentication_failure"}

# The smallest charge Stripe accepts, per settlement currency, in minor units
# (docs.stripe.com/currencies#minimum-and-maximum-charge-amounts).
MINIMUM_AMOUNTS = {
    "usd": 50, "aed": 200, "aud": 50, "bgn": 100, "brl": 50, "cad": 50, "chf": 50, "czk": 1500,
    "dkk": 250, "eur": 50, "gbp": 30, "hkd": 400, "huf": 17500, "inr": 50, "jpy": 50, "mxn": 1000,
    "myr": 200, "nok": 300, "nzd": 50, "pln": 200, "ron": 200, "sek": 300, "sgd": 50, "thb": 1000,
}  # fmt: skip
# Three-decimal currencies: Stripe charges them only in multiples of 10 minor units.
THREE_DECIMALS = {"bhd", "jod", "kwd", "omr", "tnd"}


# Stripe's dispute statuses (docs.stripe.com/api/disputes/object#dispute_object-status), in ours.
# An inquiry (`warning_*`) withdraws no money; one that closes without becoming a chargeback is won.
DISPUTE_STATUSES = {
    "warning_needs_response": DisputeStatus.OPEN,
    "needs_response": DisputeStatus.OPEN,
    "warning_under_review": DisputeStatus.UNDER_REVIEW,
    "under_review": DisputeStatus.UNDER_REVIEW,
    "warning_closed": DisputeStatus.WON,
    "won": DisputeStatus.WON,
    "prevented": DisputeStatus.WON,
    "lost": DisputeStatus.LOST,
}


def _plain(obj) -> dict:
    """The SDK's objects as plain dicts (nested ones too)."""
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj or {})


def _token(customer: str, method: str) -> str:
    return f"{customer}/{method}"


def _split(token: str) -> tuple[str, str]:
    customer, _, method = token.partition("/")
    if not customer.startswith("cus_") or not method:
        raise GatewayError(f"Not a Stripe payment method token: {token!r}")
    return customer, method


class StripeGateway(Gateway):
    name = "stripe"

    def __init__(
        self,
        *,
        secret_key: str,
        publishable_key: str = "",
        webhook_secret: str = "",
        account: str = "",
        api_base: str = "",
        timeout: float = 25,
        max_network_retries: int = 1,
    ):
        self.publishable_key = publishable_key
        self.connected_account = account
        self.webhook_secret = webhook_secret
        self.test_mode = secret_key.startswith(("sk_test_", "rk_test_"))
        options = {"base_addresses": {"api": api_base}} if api_base else {}
        self.client = stripe.StripeClient(
            secret_key,
            stripe_account=account or None,  # Stripe Connect: act in the connected account
            http_client=stripe.RequestsClient(timeout=timeout),
            max_network_retries=max_network_retries,
            **options,
        )

    # Calls --------------------------------------------------------------------------------------

    def _call(self, request, *args):
        """One Stripe call; Stripe's errors become ours. A CardError is left to the caller."""
        try:
            return request(*args)
        except stripe.CardError:
            raise
        except (stripe.APIConnectionError, stripe.RateLimitError) as error:
            raise GatewayUnavailable(f"Stripe did not answer: {error.user_message or error}") from None
        except stripe.StripeError as error:
            status = error.http_status or 0
            if status == 409:
                raise IdempotencyConflict(f"Stripe is still working on this request: {error}") from None
            if status >= 500:
                raise GatewayUnavailable(f"Stripe had an error ({status}): {error.user_message}") from None
            raise GatewayError(error.user_message or str(error)) from None

    def account(self):
        """The account these keys act for (the live check when a partner connects)."""
        return self._call(self.client.v1.accounts.retrieve_current)

    def webhook_endpoint_create(self, url: str, events: list[str]) -> tuple[str, str] | None:
        """A webhook endpoint at `url`: (its id, its signing secret), or None when the key may not
        create one (a restricted key without Webhook Endpoints write): the partner adds it by hand."""

        def create():
            try:
                return self.client.v1.webhook_endpoints.create({"url": url, "enabled_events": events})
            except stripe.PermissionError:  # 403: the key lacks the permission
                return None

        endpoint = self._call(create)
        return None if endpoint is None else (endpoint.id, endpoint.secret or "")

    # Methods ------------------------------------------------------------------------------------

    def save_method(self, details) -> SavedMethod:
        raise MethodRejected("Enter the card in Stripe's own fields: card numbers never reach this server.")

    def setup_start(self) -> MethodSetup:
        customer = self._call(self.client.v1.customers.create, {})
        setup = self._call(
            self.client.v1.setup_intents.create,
            {"customer": customer.id, "usage": "off_session", "payment_method_types": ["card"]},
        )
        return MethodSetup(
            processor=self.name,
            publishable_key=self.publishable_key,
            client_secret=setup.client_secret,
            reference=setup.id,
            account=self.connected_account,
        )

    def setup_finish(self, reference: str) -> SavedMethod:
        if not reference.startswith("seti_"):
            raise MethodRejected("The card could not be saved. Try again.")
        setup = self._call(self.client.v1.setup_intents.retrieve, reference)
        if setup.status != "succeeded" or not setup.payment_method or not setup.customer:
            raise MethodRejected("The card was not saved: its setup was not completed.")
        method = self._call(self.client.v1.payment_methods.retrieve, setup.payment_method)
        if method.customer != setup.customer:  # Stripe attaches on confirmation; the double does not
            try:
                method = self.client.v1.payment_methods.attach(method.id, {"customer": setup.customer})
            except stripe.CardError as error:
                raise MethodRejected(error.user_message or "The card was declined.") from None
        card = method.card
        return SavedMethod(
            token=_token(setup.customer, method.id),
            kind=MethodKind.CARD,
            last4=card.last4,
            brand=(card.brand or "").replace("_", " ").title().replace("Amex", "American Express"),
            exp_month=card.exp_month,
            exp_year=card.exp_year,
        )

    # Charges ------------------------------------------------------------------------------------

    def charge(
        self,
        *,
        token: str,
        amount: int,
        currency: str,
        idempotency_key: str,
        description: str = "",
        metadata: Mapping[str, str] | None = None,
    ) -> Charge:
        if amount <= 0:
            raise GatewayError("The amount must be positive.")
        customer, method = _split(token)
        params = {
            "amount": amount,
            "currency": currency.lower(),
            "customer": customer,
            "payment_method": method,
            "off_session": True,
            "confirm": True,
            "metadata": {**(metadata or {}), KEY_FIELD: idempotency_key},
            "expand": ["latest_charge.balance_transaction"],
        }
        if description:
            params["description"] = description[:200]
        try:
            intent = self._call(
                self.client.v1.payment_intents.create, params, {"idempotency_key": idempotency_key}
            )
        except stripe.CardError as error:  # a decline: Stripe made a PaymentIntent and says no
            return self._declined(error, idempotency_key, amount, currency)
        return self._as_charge(_plain(intent), idempotency_key)

    def _declined(self, error: stripe.CardError, key: str, amount: int, currency: str) -> Charge:
        details = _plain(error.error)
        intent = details.get("payment_intent")
        code = details.get("decline_code") or error.code or "card_declined"
        return Charge(
            id=intent["id"] if intent else "",
            idempotency_key=key,
            amount=amount,
            currency=currency.upper(),
            # Off-session, Stripe answers 402 authentication_required: the bank wants the customer.
            status=ChargeStatus.REQUIRES_ACTION
            if {error.code, code} & AUTHENTICATION_CODES
            else ChargeStatus.FAILED,
            decline_code=code,
            message=error.user_message or "The card was declined.",
            hard_decline=code in HARD_DECLINES,
        )

    def _as_charge(self, intent: dict, key: str | None = None) -> Charge:
        status = {
            "succeeded": ChargeStatus.SUCCEEDED,
            "processing": ChargeStatus.PROCESSING,
            "requires_action": ChargeStatus.REQUIRES_ACTION,
        }.get(intent["status"], ChargeStatus.FAILED)
        error = intent.get("last_payment_error") or {}
        code = error.get("decline_code") or error.get("code") or ""
        if status == ChargeStatus.FAILED and code in AUTHENTICATION_CODES and not error.get("charge"):
            status = ChargeStatus.REQUIRES_ACTION  # off-session, the bank wants the customer
        latest = intent.get("latest_charge")
        latest = latest if latest is not None and not isinstance(latest, str) else None
        transaction = latest.get("balance_transaction") if latest is not None else None
        return Charge(
            id=intent["id"],
            idempotency_key=key or (intent.get("metadata") or {}).get(KEY_FIELD, ""),
            amount=intent["amount"],
            currency=intent["currency"].upper(),
            status=status,
            decline_code=code if status == ChargeStatus.FAILED else "",
            message=(error.get("message") or "") if status == ChargeStatus.FAILED else "",
            hard_decline=status == ChargeStatus.FAILED and code in HARD_DECLINES,
            amount_refunded=latest.get("amount_refunded", 0) if latest is not None else 0,
            fee=transaction.get("fee")
            if transaction is not None and not isinstance(transaction, str)
            else None,
            disputed=bool(latest is not None and latest.get("disputed")),
        )

    def find_charge(
        self, idempotency_key: str, *, token: str = "", since: datetime.datetime | None = None
    ) -> Charge | None:
        customer, _ = _split(token)
        params = {"customer": customer, "limit": 100, "expand": ["data.latest_charge.balance_transaction"]}
        if since is not None:
            params["created"] = {"gte": int((since - CLOCK_SLACK).timestamp())}
        for _ in range(LISTING_PAGES):
            page = self._call(self.client.v1.payment_intents.list, params)
            for intent in map(_plain, page.data):
                if (intent.get("metadata") or {}).get(KEY_FIELD) == idempotency_key:
                    return self._as_charge(intent, idempotency_key)
            if not page.has_more:
                return None
            params["starting_after"] = page.data[-1].id
        raise GatewayUnavailable("Too many PaymentIntents to look through; ask again later.")

    def get_charge(self, charge_id: str) -> Charge:
        intent = self._call(
            self.client.v1.payment_intents.retrieve,
            charge_id,
            {"expand": ["latest_charge.balance_transaction"]},
        )
        return self._as_charge(_plain(intent))

    def refund(self, *, charge_id: str, amount: int, idempotency_key: str) -> RefundResult:
        refund = self._call(
            self.client.v1.refunds.create,
            {"payment_intent": charge_id, "amount": amount, "metadata": {KEY_FIELD: idempotency_key}},
            {"idempotency_key": idempotency_key},
        )
        if refund.status in ("failed", "canceled"):
            raise GatewayError(f"Stripe could not refund: {refund.get('failure_reason') or refund.status}")
        return RefundResult(refund.id, charge_id, refund.amount, idempotency_key)

    def get_dispute(self, dispute_id: str) -> Dispute:
        if not dispute_id.startswith("dp_"):
            raise GatewayError(f"Not a Stripe dispute: {dispute_id!r}")
        dispute = _plain(
            self._call(self.client.v1.disputes.retrieve, dispute_id, {"expand": ["balance_transactions"]})
        )
        intent = dispute.get("payment_intent") or ""
        moves = [t for t in dispute.get("balance_transactions") or [] if isinstance(t, dict)]
        due_by = (dispute.get("evidence_details") or {}).get("due_by")
        return Dispute(
            id=dispute["id"],
            charge_id=intent if isinstance(intent, str) else intent.get("id", ""),
            amount=dispute["amount"],
            currency=dispute["currency"].upper(),
            status=DISPUTE_STATUSES.get(dispute["status"], DisputeStatus.OPEN),
            reason=(dispute.get("reason") or "").replace("_", " "),
            evidence_due_by=datetime.datetime.fromtimestamp(due_by, datetime.UTC) if due_by else None,
            # Each balance transaction moves money out (withdrawn) or back in (reinstated).
            amount_withdrawn=-sum(t["amount"] for t in moves if t["amount"] < 0),
            amount_reinstated=sum(t["amount"] for t in moves if t["amount"] > 0),
        )

    # Webhooks -----------------------------------------------------------------------------------

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        signature = headers.get("Stripe-Signature", "")
        if not self.webhook_secret or not signature:
            raise WebhookInvalid("Missing signature or signing secret.")
        try:
            event = stripe.Webhook.construct_event(
                body, signature, self.webhook_secret, tolerance=SIGNATURE_TOLERANCE_SECONDS
            )
        except stripe.SignatureVerificationError as error:
            raise WebhookInvalid(f"The signature does not check out: {error.user_message}") from None
        except ValueError:
            raise WebhookInvalid("The body is not a Stripe event.") from None
        event = _plain(event)
        obj = event["data"]["object"]
        kind = obj.get("object")
        charge_id = {"payment_intent": obj.get("id")}.get(kind) or obj.get("payment_intent") or ""
        return WebhookEvent(
            id=event["id"],
            type=event["type"],
            charge_id=charge_id if isinstance(charge_id, str) else charge_id.get("id", ""),
            object_id=obj.get("id", ""),
            account=event.get("account") or "",
        )

    # Money rules --------------------------------------------------------------------------------

    def amount_refusal(self, amount: int, currency: str) -> str | None:
        currency = currency.lower()
        minimum = MINIMUM_AMOUNTS.get(currency)
        if minimum is not None and 0 < amount < minimum:
            return f"Stripe can't charge less than {minimum} {currency.upper()} minor units (cents)."
        if currency in THREE_DECIMALS and amount % 10:
            return f"Stripe charges {currency.upper()} only in multiples of 0.010: round the amount."
        return None
