"""Our thin layer in front of localstripe: what it lacks of Stripe's documented behaviour on the points
the app depends on, and nothing more.

- Accounts: each secret/publishable key pair is one account (`GET /v1/account`); objects belong to the
  account whose key made them, other accounts get Stripe's 404. A platform key with a `Stripe-Account`
  header acts as the connected account (Stripe Connect).
- Idempotency: a POST's `Idempotency-Key` (per account) replays the first answer, refuses other
  parameters (400) and answers 409 while the first request with the key is still running.
- `GET /v1/payment_intents?customer=…&created[gte]=…`, newest first, paged as Stripe pages.
- Refunds: never more than what is left of the charge, one refund of a charge at a time.
- Shapes: `latest_charge` is an id unless expanded, declines are `card_error`s, PaymentIntents keep a
  `description`.
- Webhook endpoints (`/v1/webhook_endpoints`) with their signing secrets, and signed events.
- Disputes: OUR EMULATION, not localstripe's (it has none). `/_double/disputes` opens a dispute of a
  PaymentIntent's charge with Stripe's shape (a `dp_` object, a withdrawal balance transaction, evidence
  due in 7 days); `/_double/disputes/<id>` moves it on (under review, won with the money reinstated,
  lost); `GET /v1/disputes/<id>` reads it, for its own account only.
- Test controls under `/_double/`: register accounts, lose answers (`faults`), make an issuer decline a
  method with a given code, sign events, the ledger of an account.

Everything else is forwarded to localstripe unchanged.
"""

import asyncio
import contextlib
import dataclasses
import hashlib
import hmac
import itertools
import json
import re
import secrets
import time
import urllib.parse

import aiohttp
from aiohttp import web

ID = re.compile(r"^(cus|pm|pi|ch|re|seti|tok|card|txn|src|evt|dp|we)_[A-Za-z0-9_]+$")
OBJECT_PATH = re.compile(r"^/v1/([a-z_]+)/([A-Za-z0-9_]+)(/.*)?$")
NOT_OBJECTS = {"search", "history", "upcoming"}
SETUP_CONFIRM = re.compile(r"^/v1/setup_intents/(\w+)/confirm$")
# Test cards that ask for 3-D Secure when set up, and never again off-session once authenticated
# (docs.stripe.com/testing#authentication-and-setup); 4000002760003184 asks every time.
AUTHENTICATE_ONCE = {"4000002500003155"}
# What Stripe.js may do with a publishable key.
PUBLISHABLE = re.compile(
    r"^/v1/(tokens|payment_methods|setup_intents/\w+/(confirm|cancel)|payment_intents/\w+/_authenticate)$"
)


@dataclasses.dataclass
class Account:
    id: str
    secret_key: str
    publishable_key: str
    name: str
    country: str
    default_currency: str
    platform: str | None = None  # a connected account: the platform whose key may act for it
    charges_enabled: bool = True
    revoked: bool = False
    webhook_write: bool = True  # False: a restricted key without the Webhook Endpoints permission

    def export(self) -> dict:
        return {
            "id": self.id,
            "object": "account",
            "business_profile": {"name": self.name, "url": None, "support_email": None},
            "business_type": "company",
            "capabilities": {"card_payments": "active" if self.charges_enabled else "inactive"},
            "charges_enabled": self.charges_enabled,
            "country": self.country,
            "created": 1700000000,
            "default_currency": self.default_currency,
            "details_submitted": True,
            "email": None,
            "metadata": {},
            "payouts_enabled": self.charges_enabled,
            "settings": {"dashboard": {"display_name": self.name, "timezone": "Etc/UTC"}},
            "type": "standard",
        }


@dataclasses.dataclass
class Remembered:
    fingerprint: tuple
    done: bool = False
    status: int = 0
    body: bytes = b""


def _error(status: int, message: str, *, type_="invalid_request_error", **fields) -> web.Response:
    return web.json_response({"error": {"type": type_, "message": message, **fields}}, status=status)


def _params(body: bytes, content_type: str, query) -> list[tuple[str, str]]:
    pairs = list(query.items())
    if body and "json" not in content_type and not body.lstrip().startswith(b"{"):
        pairs += urllib.parse.parse_qsl(body.decode(), keep_blank_values=True)
    return pairs


class Layer:
    def __init__(self, upstream: str):
        self.upstream = upstream
        self.accounts: dict[str, Account] = {}
        self.by_key: dict[str, Account] = {}
        self.owner: dict[str, str] = {}
        self.remembered: dict[tuple[str, str], Remembered] = {}
        self.descriptions: dict[str, str] = {}
        self.declines: dict[str, str] = {}  # payment method -> the issuer's decline code
        self.overrides: dict[str, dict] = {}  # payment intent -> fields the issuer's decline set
        self.faults: list[dict] = []
        self.endpoints: dict[str, dict] = {}  # webhook endpoints, by id
        self.disputes: dict[str, dict] = {}  # our emulation of Stripe's disputes, by id
        self.charge_locks: dict[str, asyncio.Lock] = {}
        # PaymentIntents as they were answered: id -> (account, customer, created), newest last. Lists
        # read it instead of localstripe's whole store, which it exports in full on every list.
        self.intents: dict[str, tuple[str, str | None, int]] = {}
        self.setup_numbers: dict[str, str] = {}  # SetupIntent -> the test card number Stripe.js sent
        self.authenticated: set[str] = set()  # payment methods whose setup completed 3-D Secure
        self.session: aiohttp.ClientSession | None = None
        self.counter = itertools.count(1)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=2**22)
        app.router.add_route("*", "/_double/{action:.*}", self.control)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)
        return app

    async def _start(self, app):
        self.session = aiohttp.ClientSession()

    async def _stop(self, app):
        await self.session.close()

    # Who is asking ----------------------------------------------------------------------------------

    def _caller(self, request: web.Request, params) -> Account | web.Response:
        auth = request.headers.get("Authorization", "")
        key = auth.split(" ", 1)[1] if auth.startswith("Bearer ") else dict(params).get("key", "")
        account = self.by_key.get(key)
        if account is None or account.revoked:
            return _error(401, f"Invalid API Key provided: {key[:12]}***", type_="authentication_error")
        if key.startswith("pk_") and not PUBLISHABLE.match(request.path):
            return _error(
                401, "This API call cannot be made with a publishable API key.", type_="invalid_request_error"
            )
        connected = request.headers.get("Stripe-Account") or dict(params).get("_stripe_account")
        if connected:
            target = self.accounts.get(connected)
            if target is None or target.platform != account.id:
                return _error(
                    403,
                    f"The provided key does not have access to account '{connected}' (or that account "
                    "does not exist).",
                    type_="invalid_request_error",
                    code="account_invalid",
                )
            if target.revoked:
                return _error(401, "The account has revoked access to this platform.", type_="oauth_error")
            return target
        return account

    def _foreign(self, account: Account, ids) -> str | None:
        for value in ids:
            if ID.match(value) and self.owner.get(value, account.id) != account.id:
                return value
        return None

    def _claim(self, account: Account, value) -> None:
        """Everything an account's answer names is the account's (as on Stripe)."""
        if isinstance(value, dict) and value.get("object") == "payment_intent" and "id" in value:
            self.intents.setdefault(value["id"], (account.id, value.get("customer"), value.get("created", 0)))
        if isinstance(value, dict):
            for item in value.values():
                self._claim(account, item)
        elif isinstance(value, list):
            for item in value:
                self._claim(account, item)
        elif isinstance(value, str) and ID.match(value):
            self.owner.setdefault(value, account.id)

    # Requests ---------------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.path.startswith("/js.stripe.com/") or request.method == "OPTIONS":
            return await self._forward(request, await request.read())
        body = await request.read()
        params = _params(body, request.content_type, request.query)
        if body.lstrip().startswith(b"{"):  # the fake Stripe.js posts JSON with the publishable key
            with contextlib.suppress(ValueError):
                sent = json.loads(body)
                params += [(name, sent[name]) for name in ("key", "_stripe_account") if name in sent]
                if sent.pop("_stripe_account", None):  # ours to act on, not localstripe's
                    body = json.dumps(sent).encode()
        account = self._caller(request, params)
        if isinstance(account, web.Response):
            return account
        named = [value for _, value in params]
        match = OBJECT_PATH.match(request.path)
        if match and match.group(2) not in NOT_OBJECTS:
            named.append(match.group(2))
        if foreign := self._foreign(account, named):
            return _error(404, f"No such object: '{foreign}'", code="resource_missing")
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or not key:
            return await self._respond(request, account, body, params)
        slot, fingerprint = (account.id, key), (request.path, tuple(sorted(params)))
        known = self.remembered.get(slot)
        if known is not None:
            if known.fingerprint != fingerprint:
                return _error(
                    400,
                    "Keys for idempotent requests can only be used with the same parameters they were "
                    f"first used with. Try using a key other than '{key}' if you meant to execute a "
                    "different request.",
                    type_="idempotency_error",
                )
            if not known.done:
                return _error(
                    409,
                    "There is currently another in-progress request using this Idempotent Key (that "
                    "probably means you submitted twice, and the other request is still going through): "
                    f"{key}. Please try again later.",
                    code="idempotency_key_in_use",
                )
            if lost := self._fault(request.path, "after"):  # the network loses replays too
                return await lost
            response = web.Response(status=known.status, body=known.body, content_type="application/json")
            response.headers["Idempotent-Replayed"] = "true"
            return response
        if lost := self._fault(request.path, "before"):
            return await lost
        self.remembered[slot] = known = Remembered(fingerprint)
        try:
            if slow := self._fault(request.path, "during"):
                await slow
            response = await self._respond(request, account, body, params)
        except BaseException:
            del self.remembered[slot]
            raise
        if response.status in (200, 402):  # the endpoint ran: its answer is the key's answer
            known.done, known.status, known.body = True, response.status, response.body
        else:
            del self.remembered[slot]
        if lost := self._fault(request.path, "after"):
            return await lost
        return response

    def _fault(self, path: str, when: str):
        for fault in self.faults:
            if fault["when"] == when and path.startswith(fault["path"]) and fault["times"] > 0:
                fault["times"] -= 1
                return self._lose(fault)
        return None

    async def _lose(self, fault) -> web.Response | None:
        await asyncio.sleep(fault.get("hang", 0))
        if fault["when"] == "during":  # slow, not lost: the request goes on
            return None
        return _error(500, "The answer was lost (a fault of the test double).", type_="api_error")

    async def _respond(self, request, account: Account, body: bytes, params) -> web.Response:
        path, method = request.path, request.method
        if path == "/v1/account" and method == "GET":
            return web.json_response(account.export())
        if path.startswith("/v1/webhook_endpoints"):
            return self._webhook_endpoints(request, account, params)
        if path == "/v1/payment_intents" and method == "GET":
            return await self._list_payment_intents(account, dict(params))
        if path == "/v1/payment_intents" and method == "POST":
            return await self._create_payment_intent(request, account, params)
        if path == "/v1/refunds" and method == "POST":
            return await self._refund(request, account, dict(params), body)
        if path.startswith("/v1/disputes/") and method == "GET":
            dispute = self.disputes.get(path.rsplit("/", 1)[1])
            if dispute is None:
                return _error(404, f"No such dispute: '{path.rsplit('/', 1)[1]}'", code="resource_missing")
            return web.json_response(self._dispute_shape(dispute, dict(params)))
        if SETUP_CONFIRM.match(path):
            return await self._confirm_setup(request, account, body)
        return await self._forward(request, body, account)

    async def _forward(self, request, body: bytes, account: Account | None = None, *, path=None):
        headers = {
            name: value
            for name, value in request.headers.items()
            if name.lower() in ("authorization", "content-type", "origin", "accept")
        }
        if account is not None:  # localstripe knows one account: speak to it with a key it accepts
            headers["Authorization"] = "Bearer sk_test_localstripe"
        url = self.upstream + (path or request.path_qs)
        async with self.session.request(request.method, url, data=body, headers=headers) as upstream:
            data = await upstream.read()
            out_headers = {
                name: value for name, value in upstream.headers.items() if name.lower().startswith("access-")
            }
            if account is None or "json" not in upstream.content_type:
                return web.Response(
                    status=upstream.status, body=data, content_type=upstream.content_type, headers=out_headers
                )
        payload = json.loads(data or b"{}")
        status = upstream.status
        if status == 200:
            self._claim(account, payload)
        self._stripe_shape(payload, expand=[v for k, v in _params(body, "", request.query) if "expand" in k])
        if status == 402:
            payload["error"]["type"] = "card_error"
        return web.json_response(payload, status=status, headers=out_headers)

    def _stripe_shape(self, payload, expand=()) -> None:
        if isinstance(payload, list):
            for item in payload:
                self._stripe_shape(item, expand)
            return
        if not isinstance(payload, dict):
            return
        if payload.get("object") == "payment_intent":
            expanded = any(path.removeprefix("data.").startswith("latest_charge") for path in expand)
            if isinstance(payload.get("latest_charge"), dict) and not expanded:
                payload["latest_charge"] = payload["latest_charge"]["id"]
            payload.pop("charges", None)  # removed from Stripe's API in 2022-11-15
            payload["description"] = self.descriptions.get(payload["id"])
            payload.update(self.overrides.get(payload["id"], {}))
        for name in ("data", "error", "payment_intent"):
            if isinstance(payload.get(name), (dict, list)):
                self._stripe_shape(payload[name], expand)

    async def _confirm_setup(self, request, account, body: bytes) -> web.Response:
        setup_id = SETUP_CONFIRM.match(request.path).group(1)
        try:
            number = json.loads(body).get("payment_method_data", {}).get("card", {}).get("number")
        except (ValueError, AttributeError):
            number = None
        if number:
            self.setup_numbers[setup_id] = number
        response = await self._forward(request, body, account)
        answer = json.loads(response.body)
        if answer.get("status") == "succeeded" and self.setup_numbers.get(setup_id) in AUTHENTICATE_ONCE:
            self.authenticated.add(answer["payment_method"])
        return response

    # PaymentIntents ---------------------------------------------------------------------------------

    async def _create_payment_intent(self, request, account, params) -> web.Response:
        fields = dict(params)
        description = fields.pop("description", None)
        decline = self.declines.get(fields.get("payment_method", ""))
        kept = [
            (k, v)
            for k, v in params
            if k != "description" and not (decline and k in ("confirm", "off_session"))
        ]
        response = await self._forward(request, urllib.parse.urlencode(kept).encode(), account)
        payload = json.loads(response.body)
        intent = payload.get("error", {}).get("payment_intent") if response.status == 402 else payload
        if intent is None and response.status == 402:  # localstripe leaves the intent out of declines
            intent = await self._intent_of_charge(payload["error"].get("charge"), account)
            if intent:
                payload["error"]["payment_intent"] = intent
        if (
            response.status == 200
            and payload.get("status") == "requires_action"
            and fields.get("off_session") == "true"
            and fields.get("payment_method") in self.authenticated
        ):  # set up with 3-D Secure already: Stripe does not ask again off-session
            payload = await self._authenticate(payload, account)
            intent = payload
        if intent and description is not None:
            self.descriptions[intent["id"]] = description
            intent["description"] = description
        if decline and response.status == 200:
            error = {
                "type": "card_error",
                "code": "card_declined",
                "decline_code": decline,
                "message": "Your card was declined.",
                "payment_method": {"id": fields["payment_method"]},
            }
            self.overrides[payload["id"]] = {"status": "requires_payment_method", "last_payment_error": error}
            payload.update(self.overrides[payload["id"]])
            return web.json_response({"error": {**error, "payment_intent": payload}}, status=402)
        return web.json_response(payload, status=response.status)

    async def _authenticate(self, intent: dict, account) -> dict:
        headers = {"Authorization": "Bearer sk_test_localstripe"}
        url = f"{self.upstream}/v1/payment_intents/{intent['id']}/_authenticate"
        form = {"client_secret": intent["client_secret"], "success": "true"}
        async with self.session.post(url, data=form, headers=headers) as upstream:
            authenticated = json.loads(await upstream.read())
        self._claim(account, authenticated)
        self._stripe_shape(authenticated)
        return authenticated

    async def _intent_of_charge(self, charge_id, account) -> dict | None:
        if not charge_id:
            return None
        charge = await self._get(f"/v1/charges/{charge_id}")
        if not charge.get("payment_intent"):
            return None
        intent = await self._get(f"/v1/payment_intents/{charge['payment_intent']}")
        self._claim(account, intent)
        self._stripe_shape(intent)
        return intent

    async def _get(self, path: str) -> dict:
        headers = {"Authorization": "Bearer sk_test_localstripe"}
        async with self.session.get(self.upstream + path, headers=headers) as upstream:
            return json.loads(await upstream.read())

    async def _list_payment_intents(self, account, query) -> web.Response:
        ids = [pi for pi, (owner, customer, created) in self.intents.items() if owner == account.id]
        if customer := query.get("customer"):
            ids = [pi for pi in ids if self.intents[pi][1] == customer]
        for op, compare in (("gt", int.__gt__), ("gte", int.__ge__), ("lt", int.__lt__), ("lte", int.__le__)):
            if f"created[{op}]" in query:
                ids = [pi for pi in ids if compare(self.intents[pi][2], int(query[f"created[{op}]"]))]
        ids.reverse()  # Stripe lists newest first
        ids.sort(key=lambda pi: self.intents[pi][2], reverse=True)
        if after := query.get("starting_after"):
            ids = ids[ids.index(after) + 1 :] if after in ids else []
        limit = min(int(query.get("limit", 10)), 100)
        expand = [value for name, value in query.items() if "expand" in name]
        path = "/v1/payment_intents/{}?" + urllib.parse.urlencode(
            [("expand[]", e.removeprefix("data.")) for e in expand]
        )
        page = [await self._get(path.format(pi)) for pi in ids[:limit]]
        self._stripe_shape(page, expand=expand)
        listing = {"object": "list", "url": "/v1/payment_intents", "has_more": len(ids) > limit}
        return web.json_response({**listing, "data": page})

    # Refunds ----------------------------------------------------------------------------------------

    async def _refund(self, request, account, fields, body) -> web.Response:
        target = fields.get("payment_intent") or fields.get("charge") or ""
        lock = self.charge_locks.setdefault(target, asyncio.Lock())
        async with lock:
            if target.startswith("pi_"):
                intent = await self._get(f"/v1/payment_intents/{target}")
                charge = intent.get("latest_charge") or {}
            else:
                charge = await self._get(f"/v1/charges/{target}")
            if "error" in charge or charge.get("status") != "succeeded":
                return _error(
                    400, "This payment has no succeeded charge to refund.", code="charge_not_refundable"
                )
            left = charge["amount"] - charge["amount_refunded"]
            if left <= 0:
                return _error(
                    400, f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded"
                )
            amount = int(fields.get("amount", left))
            if amount > left:
                return _error(
                    400,
                    f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})",
                    code="amount_too_large",
                    param="amount",
                )
            fields["amount"] = str(amount)
            return await self._forward(request, urllib.parse.urlencode(fields).encode(), account)

    # Webhook endpoints and events -------------------------------------------------------------------

    def _webhook_endpoints(self, request, account, params) -> web.Response:
        fields = dict(params)
        if request.method == "POST" and request.path == "/v1/webhook_endpoints" and not account.webhook_write:
            return _error(
                403,
                f"The provided key '{account.secret_key[:12]}***' does not have the required permissions for "
                f"this endpoint on account '{account.id}'. Having the 'rak_webhook_write' permission would "
                "allow this request to continue.",
                code="secret_key_required",
            )
        if request.method == "POST" and request.path == "/v1/webhook_endpoints":
            endpoint = {
                "id": f"we_{secrets.token_hex(12)}",
                "object": "webhook_endpoint",
                "url": fields.get("url"),
                "enabled_events": [v for k, v in params if k.startswith("enabled_events")],
                "secret": f"whsec_{secrets.token_hex(16)}",
                "status": "enabled",
                "livemode": False,
                "created": int(time.time()),
                "metadata": {},
            }
            self.endpoints[endpoint["id"]] = endpoint
            self.owner[endpoint["id"]] = account.id
            return web.json_response(endpoint)
        endpoint_id = request.path.rsplit("/", 1)[1]
        endpoint = self.endpoints.get(endpoint_id)
        if endpoint is None:
            return _error(404, f"No such webhook endpoint: '{endpoint_id}'", code="resource_missing")
        if request.method == "DELETE":
            del self.endpoints[endpoint_id]
            return web.json_response({"id": endpoint_id, "object": "webhook_endpoint", "deleted": True})
        return web.json_response({k: v for k, v in endpoint.items() if k != "secret"})

    def sign(self, account: Account, event: dict, timestamp: int | None = None) -> dict:
        body = json.dumps(event).encode()
        timestamp = int(time.time()) if timestamp is None else timestamp
        signatures = []
        for endpoint in self.endpoints.values():
            if self.owner.get(endpoint["id"]) in (account.id, account.platform):
                digest = hmac.new(
                    endpoint["secret"].encode(), f"{timestamp}.".encode() + body, hashlib.sha256
                )
                signatures.append(f"v1={digest.hexdigest()}")
        return {
            "body": body.decode(),
            "headers": {"Stripe-Signature": ",".join([f"t={timestamp}", *signatures])},
        }

    # Disputes (our emulation: localstripe has none) ------------------------------------------------

    def _dispute_shape(self, dispute: dict, query) -> dict:
        expanded = any("balance_transactions" in v for k, v in query.items() if "expand" in k)
        if expanded:
            return dispute
        return {**dispute, "balance_transactions": [t["id"] for t in dispute["balance_transactions"]]}

    def _dispute_move(self, dispute: dict, amount: int, description: str) -> None:
        dispute["balance_transactions"].append(
            {
                "id": f"txn_{secrets.token_hex(12)}",
                "object": "balance_transaction",
                "amount": amount,
                "currency": dispute["currency"],
                "fee": 0 if amount > 0 else 1500,
                "net": amount if amount > 0 else amount - 1500,
                "description": description,
                "reporting_category": "dispute_reversal" if amount > 0 else "dispute",
                "type": "adjustment",
                "created": int(time.time()),
                "status": "available",
            }
        )

    async def _dispute_open(self, fields) -> web.Response:
        intent = await self._get(f"/v1/payment_intents/{fields['payment_intent']}")
        charge = intent.get("latest_charge") or {}
        charge = charge if isinstance(charge, dict) else await self._get(f"/v1/charges/{charge}")
        if charge.get("status") != "succeeded":
            return _error(400, "Only a succeeded charge can be disputed.")
        now = int(time.time())
        dispute = {
            "id": f"dp_{secrets.token_hex(12)}",
            "object": "dispute",
            "amount": int(fields.get("amount", charge["amount"])),
            "balance_transactions": [],
            "charge": charge["id"],
            "created": now,
            "currency": charge["currency"],
            "evidence": {"uncategorized_text": None},
            "evidence_details": {
                "due_by": now + 7 * 86400,
                "has_evidence": False,
                "past_due": False,
                "submission_count": 0,
            },
            "is_charge_refundable": False,
            "livemode": False,
            "metadata": {},
            "payment_intent": intent["id"],
            "reason": fields.get("reason", "fraudulent"),
            "status": "needs_response",
        }
        self._dispute_move(dispute, -dispute["amount"], f"Chargeback withdrawal for {charge['id']}")
        self.disputes[dispute["id"]] = dispute
        self.owner[dispute["id"]] = self.owner.get(intent["id"], "")
        return web.json_response(dispute)

    def _dispute_update(self, dispute: dict, fields) -> web.Response:
        status = fields["status"]
        if status == "won" and dispute["status"] != "won":
            self._dispute_move(dispute, dispute["amount"], f"Chargeback reversal for {dispute['charge']}")
        dispute["status"] = status
        if status in ("under_review", "won", "lost"):
            dispute["evidence_details"]["has_evidence"] = status != "lost"
        return web.json_response(dispute)

    # Test controls ----------------------------------------------------------------------------------

    async def control(self, request: web.Request) -> web.Response:
        action = request.match_info["action"]
        fields = await request.json() if request.can_read_body else {}
        if action == "accounts":
            number = next(self.counter)
            account = Account(
                id=f"acct_{secrets.token_hex(8)}",
                secret_key=f"sk_test_{secrets.token_hex(12)}",
                publishable_key=f"pk_test_{secrets.token_hex(12)}",
                name=fields.get("name", f"Account {number}"),
                country=fields.get("country", "US"),
                default_currency=fields.get("default_currency", "usd"),
                platform=fields.get("platform"),
                webhook_write=fields.get("webhook_write", True),
            )
            self.accounts[account.id] = account
            self.by_key[account.secret_key] = self.by_key[account.publishable_key] = account
            return web.json_response(dataclasses.asdict(account))
        if action.startswith("accounts/"):
            account = self.accounts[action.split("/")[1]]
            for name in ("charges_enabled", "revoked", "webhook_write"):
                if name in fields:
                    setattr(account, name, fields[name])
            return web.json_response(dataclasses.asdict(account))
        if action == "faults":
            self.faults.append({"when": "after", "hang": 0, "times": 1, **fields})
            return web.json_response({"faults": len(self.faults)})
        if action == "declines":
            self.declines[fields["payment_method"]] = fields["decline_code"]
            return web.json_response({})
        if action == "disputes":
            return await self._dispute_open(fields)
        if action.startswith("disputes/"):
            return self._dispute_update(self.disputes[action.split("/")[1]], fields)
        if action == "events":
            return await self._event(fields)
        if action == "ledger":
            return await self._ledger(self.accounts[fields["account"]], fields.get("count_only", False))
        if action == "reset":
            self.faults.clear()
            return web.json_response({})
        return _error(404, f"No such control: {action}")

    async def _event(self, fields) -> web.Response:
        account = self.accounts[fields["account"]]
        obj = fields.get("object")
        if obj is None and fields.get("collection") == "disputes":
            obj = self._dispute_shape(self.disputes[fields["id"]], {})
        if obj is None:
            obj = await self._get(f"/v1/{fields['collection']}/{fields['id']}")
            self._stripe_shape(obj)
        event = {
            "id": fields.get("event_id") or f"evt_{secrets.token_hex(12)}",
            "object": "event",
            "api_version": "2025-09-30.clover",
            "created": int(time.time()),
            "data": {"object": obj},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": fields["type"],
        }
        if account.platform:
            event["account"] = account.id
        return web.json_response(self.sign(account, event, fields.get("timestamp")))

    async def _ledger(self, account, count_only=False) -> web.Response:
        ids = [pi for pi, (owner, _, _) in self.intents.items() if owner == account.id]
        if count_only:
            return web.json_response({"payment_intents": len(ids)})
        intents = (await self._get("/v1/payment_intents?limit=1000000"))["data"]
        refunds = (await self._get("/v1/refunds?limit=1000000"))["data"]
        mine = [pi for pi in intents if self.owner.get(pi["id"]) == account.id]
        self._stripe_shape(mine, expand=["latest_charge"])
        return web.json_response(
            {
                "payment_intents": mine,
                "refunds": [r for r in refunds if self.owner.get(r["id"]) == account.id],
            }
        )
