"""The sandbox gateway: a processor in test mode, the default until a real adapter is configured.

It keeps its own books (sandbox models, on their own connection), accepts only the test numbers below,
honours idempotency keys as a real processor does, and can be slowed down (`latency_ms`) to look like
one. Bank debits start "processing" and settle or fail `ach_settle_seconds` later, announced by a
signed webhook event that `advance()` hands out.
"""

import datetime
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping

from django.conf import settings
from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from payments.gateways.base import (
    BankAccountDetails,
    CardDetails,
    Charge,
    ChargeStatus,
    Gateway,
    GatewayError,
    GatewayUnavailable,
    MethodKind,
    MethodRejected,
    MethodSetup,
    RefundResult,
    SavedMethod,
    WebhookEvent,
    WebhookInvalid,
)
from payments.gateways.sandbox.models import SandboxCharge, SandboxEvent, SandboxMethod, SandboxRefund

DB = "sandbox"
SUCCEED = "succeed"
TIMEOUT = "timeout"
SETTLE = "settle"

# Test cards (the numbers partners know from Stripe's test mode) -> (brand, behaviour).
TEST_CARDS = {
    "4242424242424242": ("Visa", SUCCEED),
    "4000056655665556": ("Visa", SUCCEED),
    "5555555555554444": ("Mastercard", SUCCEED),
    "378282246310005": ("American Express", SUCCEED),
    "4000000000000002": ("Visa", "decline:generic_decline"),
    "4000000000009995": ("Visa", "decline:insufficient_funds"),
    "4000000000000069": ("Visa", "decline:expired_card"),
    "4000000000009987": ("Visa", "decline:lost_card"),
    "4000000000009979": ("Visa", "decline:stolen_card"),
    "4000000000000119": ("Visa", "decline:processing_error"),
    "4000000000000705": ("Visa", TIMEOUT),  # charged, but the answer never arrives
}
TEST_ROUTING_NUMBER = "110000000"
TEST_BANK_ACCOUNTS = {
    "000123456789": SETTLE,
    "000222222227": "return:R01",
    "000111111113": "return:R02",
    "000111111116": "return:R03",
}

# code -> (message for people, hard decline: retrying the same method can never succeed)
DECLINES = {
    "generic_decline": ("The card was declined.", False),
    "insufficient_funds": ("The card has insufficient funds.", False),
    "processing_error": ("The card issuer had a processing error. Try again later.", False),
    "expired_card": ("The card has expired.", True),
    "lost_card": ("The card was reported lost.", True),
    "stolen_card": ("The card was reported stolen.", True),
    "R01": ("The bank returned the debit: insufficient funds (R01).", False),
    "R02": ("The bank returned the debit: account closed (R02).", True),
    "R03": ("The bank returned the debit: no account or unable to locate account (R03).", True),
}


def number_digest(number: str) -> str:
    """How the sandbox's script (static/sandbox.js) names a test number without sending it."""
    return hashlib.sha256(number.encode()).hexdigest()


# The digests the script may send: anything else never leaves the browser (a real card, a typo).
TEST_NUMBER_DIGESTS = {number_digest(number): number for number in [*TEST_CARDS, *TEST_BANK_ACCOUNTS]}

SIGNATURE_HEADER = "Sandbox-Signature"
SIGNATURE_TOLERANCE_SECONDS = 300


def _new_id(prefix: str) -> str:
    return f"{prefix}_sbx_{secrets.token_hex(12)}"


# A saved method never changes once made, so each process keeps the ones it has charged (as a real
# processor keeps its hot rows in memory); an unknown token is asked for every time.
_methods: dict[str, SandboxMethod] = {}
_METHODS_KEPT = 10_000


def _saved_method(token: str) -> SandboxMethod | None:
    method = _methods.get(token)
    if method is None:
        method = SandboxMethod.objects.using(DB).filter(token=token).first()
        if method is not None and len(_methods) < _METHODS_KEPT:
            _methods[token] = method
    return method


def _insert_unless_key_exists(row: SandboxCharge) -> bool:
    """INSERT ... ON CONFLICT (idempotency_key) DO NOTHING, outside any transaction: the processor
    answers a charge with one round trip, as a real one answers with one request."""
    connection = connections[DB]
    fields = [field for field in SandboxCharge._meta.concrete_fields if not field.primary_key]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    values = [field.get_db_prep_save(getattr(row, field.attname), connection) for field in fields]
    # Names come from the model's metadata; every value is a parameter.
    table = connection.ops.quote_name(SandboxCharge._meta.db_table)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) ON CONFLICT (idempotency_key) DO NOTHING"  # noqa: S608
    sql += " RETURNING id"
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        inserted = cursor.fetchone()
    if inserted:
        row.pk = inserted[0]
    return inserted is not None


def _as_charge(row: SandboxCharge) -> Charge:
    return Charge(
        id=row.charge_id,
        idempotency_key=row.idempotency_key,
        amount=row.amount,
        currency=row.currency,
        status=ChargeStatus(row.status),
        decline_code=row.decline_code,
        message=row.message,
        hard_decline=row.hard_decline,
        amount_refunded=row.amount_refunded,
    )


class SandboxGateway(Gateway):
    name = "sandbox"
    test_mode = True

    def __init__(self, latency_ms: float = 0, ach_settle_seconds: float = 30, webhook_secret: str = ""):
        self.latency = latency_ms / 1000
        self.ach_settle = datetime.timedelta(seconds=ach_settle_seconds)
        self.secret = (webhook_secret or f"sandbox-webhook:{settings.SECRET_KEY}").encode()

    def _network(self) -> None:
        if self.latency:
            time.sleep(self.latency)

    # Methods ------------------------------------------------------------------------------------

    def save_method(self, details: CardDetails | BankAccountDetails) -> SavedMethod:
        self._network()
        if isinstance(details, CardDetails):
            if details.number not in TEST_CARDS:
                raise MethodRejected(
                    "This is test mode: use a test card such as 4242 4242 4242 4242. Real cards are refused."
                )
            brand, behaviour = TEST_CARDS[details.number]
            saved = SavedMethod(
                token=_new_id("pm"),
                kind=MethodKind.CARD,
                last4=details.number[-4:],
                brand=brand,
                exp_month=details.exp_month,
                exp_year=details.exp_year,
            )
        else:
            behaviour = TEST_BANK_ACCOUNTS.get(details.account_number)
            if details.routing_number != TEST_ROUTING_NUMBER or behaviour is None:
                raise MethodRejected(
                    f"This is test mode: use routing number {TEST_ROUTING_NUMBER} and a test account "
                    "number such as 000123456789."
                )
            saved = SavedMethod(
                token=_new_id("pm"),
                kind=MethodKind.BANK_ACCOUNT,
                last4=details.account_number[-4:],
                bank_name="Sandbox Bank",
            )
        SandboxMethod.objects.using(DB).create(
            token=saved.token,
            kind=saved.kind,
            behaviour=behaviour,
            brand=saved.brand,
            last4=saved.last4,
            exp_month=saved.exp_month,
            exp_year=saved.exp_year,
        )
        return saved

    def setup_start(self) -> MethodSetup:
        return MethodSetup(processor=self.name)

    def setup_finish(self, reference: str) -> SavedMethod:
        """`card:<digest>:<month>:<year>` or `bank:<digest>:<holder name>`, made by static/sandbox.js."""
        kind, digest, *rest = [*reference.split(":", 3), "", ""]
        number = TEST_NUMBER_DIGESTS.get(digest)
        if number is None:
            raise MethodRejected("This is test mode: use a test card such as 4242 4242 4242 4242.")
        if kind == "bank" and number in TEST_BANK_ACCOUNTS:
            return self.save_method(BankAccountDetails(TEST_ROUTING_NUMBER, number, rest[0][:100]))
        if kind != "card" or number not in TEST_CARDS or not (rest[0].isdigit() and rest[1].isdigit()):
            raise MethodRejected("The card details are incomplete.")
        return self.save_method(CardDetails(number, int(rest[0]), int(rest[1]), cvc=""))

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
        self._network()
        if amount <= 0:
            raise GatewayError("The amount must be positive.")
        method = _saved_method(token)
        if method is None:
            raise GatewayError(f"No such payment method: {token}")
        row = self._charge_once(method, amount, currency.upper(), idempotency_key, description)
        if (row.amount, row.currency, row.token) != (amount, currency.upper(), token):
            raise GatewayError("This idempotency key was already used for a different charge.")
        if method.behaviour == TIMEOUT:
            raise GatewayUnavailable("The sandbox processor did not answer in time (test card …0705).")
        return _as_charge(row)

    def _charge_once(self, method, amount, currency, key, description) -> SandboxCharge:
        """The charge made with this key: a new one, or the one made before (then nothing moves)."""
        status, code, settles_at = ChargeStatus.SUCCEEDED, "", None
        today = timezone.now().date()
        if method.exp_year and (today.year, today.month) > (method.exp_year, method.exp_month):
            status, code = ChargeStatus.FAILED, "expired_card"
        elif method.behaviour.startswith("decline:"):
            status, code = ChargeStatus.FAILED, method.behaviour.split(":", 1)[1]
        elif method.kind == MethodKind.BANK_ACCOUNT:
            status, settles_at = ChargeStatus.PROCESSING, timezone.now() + self.ach_settle
        message, hard = DECLINES.get(code, ("", False))
        row = SandboxCharge(
            charge_id=_new_id("ch"),
            idempotency_key=key,
            token=method.token,
            amount=amount,
            currency=currency,
            status=status,
            decline_code=code,
            message=message,
            hard_decline=hard,
            description=description[:200],
            settles_at=settles_at,
            created_at=timezone.now(),
        )
        # One statement, atomic on its own: a key charged before (or at this very moment) keeps its
        # first charge, and that is the one returned.
        if _insert_unless_key_exists(row):
            return row
        return SandboxCharge.objects.using(DB).get(idempotency_key=key)

    def find_charge(
        self, idempotency_key: str, *, token: str = "", since: datetime.datetime | None = None
    ) -> Charge | None:
        self._network()
        row = SandboxCharge.objects.using(DB).filter(idempotency_key=idempotency_key).first()
        return _as_charge(row) if row else None

    def get_charge(self, charge_id: str) -> Charge:
        self._network()
        row = SandboxCharge.objects.using(DB).filter(charge_id=charge_id).first()
        if row is None:
            raise GatewayError(f"No such charge: {charge_id}")
        return _as_charge(row)

    def refund(self, *, charge_id: str, amount: int, idempotency_key: str) -> RefundResult:
        with transaction.atomic(using=DB):
            # The charge's row lock comes first, so every refund of one charge, and every repeat of one
            # key, waits its turn: a repeat then finds the first refund made with its key (committed by
            # then) and answers with it, before any check of what is left could turn it down.
            charge = SandboxCharge.objects.using(DB).select_for_update().filter(charge_id=charge_id).first()
            self._network()  # the processor works on the refund while it holds the charge
            existing = self._refund_by_key(idempotency_key)
            if existing is not None:
                return self._replay(existing, charge_id=charge_id, amount=amount)
            if charge is None or charge.status != ChargeStatus.SUCCEEDED:
                raise GatewayError("Only a succeeded charge can be refunded.")
            if amount <= 0 or amount > charge.amount - charge.amount_refunded:
                raise GatewayError("The refund is more than what is left of the charge.")
            try:
                with transaction.atomic(using=DB):
                    refund = SandboxRefund.objects.using(DB).create(
                        refund_id=_new_id("re"), idempotency_key=idempotency_key, charge=charge, amount=amount
                    )
            except IntegrityError:
                # The key was used at this moment for a refund of another charge (not under our lock).
                return self._replay(self._refund_by_key(idempotency_key), charge_id=charge_id, amount=amount)
            charge.amount_refunded += amount
            charge.save(update_fields=["amount_refunded"])
        return RefundResult(refund.refund_id, charge_id, amount, idempotency_key)

    @staticmethod
    def _refund_by_key(key: str) -> SandboxRefund | None:
        return SandboxRefund.objects.using(DB).select_related("charge").filter(idempotency_key=key).first()

    @staticmethod
    def _replay(existing: SandboxRefund, *, charge_id: str, amount: int) -> RefundResult:
        """The first answer for a key answers every repeat; a different request with the key is refused."""
        if (existing.charge.charge_id, existing.amount) != (charge_id, amount):
            raise GatewayError("This idempotency key was already used for a different refund.")
        return RefundResult(existing.refund_id, charge_id, existing.amount, existing.idempotency_key)

    # Bank debits settling, and their webhooks ---------------------------------------------------

    def advance(self, now: datetime.datetime | None = None) -> list[tuple[str, bytes, dict[str, str]]]:
        """Settle or fail the bank debits that are due; return (event id, body, headers) of each
        signed webhook not yet delivered."""
        now = now or timezone.now()
        with transaction.atomic(using=DB):
            due = SandboxCharge.objects.using(DB).select_for_update(skip_locked=True)
            for row in due.filter(status=ChargeStatus.PROCESSING, settles_at__lte=now):
                behaviour = SandboxMethod.objects.using(DB).get(token=row.token).behaviour
                if behaviour.startswith("return:"):
                    row.status, row.decline_code = ChargeStatus.FAILED, behaviour.split(":", 1)[1]
                    row.message, row.hard_decline = DECLINES[row.decline_code]
                else:
                    row.status = ChargeStatus.SUCCEEDED
                row.save(update_fields=["status", "decline_code", "message", "hard_decline"])
                SandboxEvent.objects.using(DB).create(
                    event_id=_new_id("evt"), type=f"charge.{row.status}", charge_id=row.charge_id
                )
        pending = SandboxEvent.objects.using(DB).filter(delivered_at=None).order_by("id")
        return [(event.event_id, *self.sign(event)) for event in pending]

    def mark_delivered(self, event_id: str) -> None:
        SandboxEvent.objects.using(DB).filter(event_id=event_id).update(delivered_at=timezone.now())

    def sign(self, event: SandboxEvent, timestamp: int | None = None) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(
            {"id": event.event_id, "type": event.type, "data": {"charge": event.charge_id}}
        ).encode()
        timestamp = int(time.time()) if timestamp is None else timestamp
        signature = hmac.new(self.secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        return body, {SIGNATURE_HEADER: f"t={timestamp},v1={signature}"}

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        fields = dict(
            part.split("=", 1) for part in headers.get(SIGNATURE_HEADER, "").split(",") if "=" in part
        )
        try:
            timestamp = int(fields.get("t", ""))
        except ValueError:
            raise WebhookInvalid("Missing or malformed signature header.") from None
        expected = hmac.new(self.secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        # As bytes: compare_digest refuses a str with non-ASCII characters (a forged header) with TypeError.
        if not hmac.compare_digest(expected.encode(), fields.get("v1", "").encode()):
            raise WebhookInvalid("The signature does not match.")
        if abs(time.time() - timestamp) > SIGNATURE_TOLERANCE_SECONDS:
            raise WebhookInvalid("The signature is too old (replayed?).")
        try:
            payload = json.loads(body)
            return WebhookEvent(
                id=str(payload["id"]), type=str(payload["type"]), charge_id=str(payload["data"]["charge"])
            )
        except (ValueError, KeyError, TypeError):
            raise WebhookInvalid("The body is not a sandbox event.") from None
