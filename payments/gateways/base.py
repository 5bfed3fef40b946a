"""What the app needs from a payment processor, and nothing more.

Callers (payments.services, the webhook view) use only this interface, so a real processor's adapter
fits beside the sandbox without changing them. Every call that moves money takes an idempotency key:
sending the same key twice returns the first result and never moves money twice.
"""

import abc
import dataclasses
import datetime
import enum
from collections.abc import Mapping


class MethodKind(enum.StrEnum):
    CARD = "card"
    BANK_ACCOUNT = "bank_account"


class ChargeStatus(enum.StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PROCESSING = "processing"  # bank debits: accepted, settles or fails later (webhook)
    REQUIRES_ACTION = "requires_action"  # the bank asks the customer to authenticate (3-D Secure)


@dataclasses.dataclass(frozen=True, repr=False)
class CardDetails:
    number: str
    exp_month: int
    exp_year: int
    cvc: str
    name: str = ""

    def __repr__(self) -> str:  # never print a card number, even in a traceback
        return f"CardDetails(last4={self.number[-4:]!r})"


@dataclasses.dataclass(frozen=True, repr=False)
class BankAccountDetails:
    routing_number: str
    account_number: str
    holder_name: str
    account_type: str = "checking"

    def __repr__(self) -> str:
        return f"BankAccountDetails(last4={self.account_number[-4:]!r})"


@dataclasses.dataclass(frozen=True)
class SavedMethod:
    """What the gateway gives back for a saved method: a token and what may be shown to people."""

    token: str
    kind: MethodKind
    last4: str
    brand: str = ""
    bank_name: str = ""
    exp_month: int | None = None
    exp_year: int | None = None


@dataclasses.dataclass(frozen=True)
class Charge:
    id: str
    idempotency_key: str
    amount: int
    currency: str
    status: ChargeStatus
    decline_code: str = ""
    message: str = ""
    hard_decline: bool = False  # the processor says: never retry this method
    amount_refunded: int = 0
    fee: int | None = None  # what the processor kept, where it reports it
    disputed: bool = False


@dataclasses.dataclass(frozen=True)
class RefundResult:
    id: str
    charge_id: str
    amount: int
    idempotency_key: str


@dataclasses.dataclass(frozen=True)
class WebhookEvent:
    id: str
    type: str
    charge_id: str  # the charge the event is about ("" if none: an account event)
    object_id: str = ""  # the object the event carries (a dispute, a refund, the account)
    account: str = ""  # the processor account it happened in (Stripe Connect)


class DisputeStatus(enum.StrEnum):
    OPEN = "open"  # the partner can respond with evidence until `evidence_due_by`
    UNDER_REVIEW = "under_review"  # evidence sent; the bank decides
    WON = "won"  # the money withdrawn comes back
    LOST = "lost"  # the customer keeps the money


@dataclasses.dataclass(frozen=True)
class Dispute:
    """A customer's dispute (chargeback) of a charge, as the processor sees it now."""

    id: str
    charge_id: str  # the charge as Gateway.charge named it (Stripe: the PaymentIntent)
    amount: int
    currency: str
    status: DisputeStatus
    reason: str = ""
    evidence_due_by: datetime.datetime | None = None
    amount_withdrawn: int = 0  # taken from the partner's balance so far
    amount_reinstated: int = 0  # given back (a won dispute)


@dataclasses.dataclass(frozen=True)
class MethodSetup:
    """What the browser needs to collect a payment method in the processor's own fields."""

    processor: str
    publishable_key: str = ""
    client_secret: str = ""  # Stripe: a SetupIntent's secret, confirmed by Stripe.js
    reference: str = ""  # what the server keeps to finish the setup (Stripe: the SetupIntent id)
    account: str = ""  # Stripe Connect: the connected account Stripe.js acts for


class GatewayError(Exception):
    """The gateway refused a request (bad parameters, unknown charge); nothing was charged."""


class GatewayUnavailable(GatewayError):
    """No answer (timeout, connection lost): the request may or may not have reached the processor.

    The caller must not guess: it records the attempt as unknown and asks again by the same key.
    """


class IdempotencyConflict(GatewayUnavailable):
    """The processor is still working on an earlier request with the same idempotency key (a double
    click reaching it twice at once; Stripe answers 409). The outcome is unknown, not failed: ask again
    by the same key once the first request is done.
    """


class MethodRejected(GatewayError):
    """The processor would not save these card or account details; the message is for the customer."""


class WebhookInvalid(GatewayError):
    """A webhook whose signature, timestamp or body does not check out."""


class Gateway(abc.ABC):
    name: str
    test_mode: bool

    @abc.abstractmethod
    def save_method(self, details: CardDetails | BankAccountDetails) -> SavedMethod:
        """Tokenize card or account details; the numbers go no further than this call."""

    @abc.abstractmethod
    def setup_start(self) -> MethodSetup:
        """Start collecting a payment method in the browser (card numbers never reach our server)."""

    @abc.abstractmethod
    def setup_finish(self, reference: str) -> SavedMethod:
        """The method the browser saved: `reference` is what the browser sent back (an opaque token or
        the processor's id). Raises MethodRejected with a message for the customer."""

    @abc.abstractmethod
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
        """Charge a saved method. A decline is a FAILED charge; no answer raises GatewayUnavailable."""

    @abc.abstractmethod
    def find_charge(
        self, idempotency_key: str, *, token: str = "", since: datetime.datetime | None = None
    ) -> Charge | None:
        """The charge made with this key, or None if the processor never received it. `token` and
        `since` (the method charged, when the attempt began) let a processor without lookup by key
        find it among the method's charges."""

    @abc.abstractmethod
    def get_charge(self, charge_id: str) -> Charge:
        """The charge as the processor sees it now."""

    @abc.abstractmethod
    def refund(self, *, charge_id: str, amount: int, idempotency_key: str) -> RefundResult:
        """Refund part or all of a succeeded charge. The first answer for a key is the answer for every
        repeat, concurrent ones included (or IdempotencyConflict while the first is still running)."""

    @abc.abstractmethod
    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        """Verify a webhook's signature and freshness and read it; raises WebhookInvalid."""

    def get_dispute(self, dispute_id: str) -> Dispute:
        """The dispute as the processor sees it now (a processor without disputes has none)."""
        raise GatewayError(f"{self.name} has no disputes: {dispute_id!r}")

    def amount_refusal(self, amount: int, currency: str) -> str | None:
        """Why the processor could not charge this amount (below its minimum, ...), or None."""
        return None
