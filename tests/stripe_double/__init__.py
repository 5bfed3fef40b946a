"""The Stripe test double: localstripe behind our layer (`layer.py`), started on 127.0.0.1 and a free
port, and the test controls that drive it."""

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


class StripeDouble:
    def __init__(self, url: str, upstream: str):
        self.url = url
        self.upstream = upstream  # localstripe itself, without our layer: for the upstream-deviation tests
        self.js_url = f"{url}/js.stripe.com/v3/"

    def _control(self, action: str, **fields) -> dict:
        response = requests.post(f"{self.url}/_double/{action}", json=fields, timeout=30)
        response.raise_for_status()
        return response.json()

    def account(self, **fields) -> dict:
        """A new account: id, secret_key, publishable_key, name, country, default_currency."""
        return self._control("accounts", **fields)

    def update_account(self, account_id: str, **fields) -> dict:
        return self._control(f"accounts/{account_id}", **fields)

    def lose_answers(self, path: str, *, when: str = "after", times: int = 1, hang: float = 0) -> None:
        """The next `times` POSTs to `path`: never reach Stripe (`before`), reach it but their answer is
        lost (`after`), or are slowed down by `hang` seconds while Stripe works on them (`during`)."""
        self._control("faults", path=path, when=when, times=times, hang=hang)

    def decline(self, payment_method: str, code: str) -> None:
        """The issuer declines charges of this method with this decline code."""
        self._control("declines", payment_method=payment_method, decline_code=code)

    def event(self, account_id: str, type_: str, **fields) -> tuple[bytes, dict[str, str]]:
        """A signed event about `collection`/`id` (read from the double) or `object`."""
        signed = self._control("events", account=account_id, type=type_, **fields)
        return signed["body"].encode(), signed["headers"]

    def dispute(self, payment_intent: str, **fields) -> dict:
        """Our emulation (localstripe has no disputes): the customer disputes this PaymentIntent's
        charge; `amount` and `reason` as Stripe's dispute has them. Returns the dispute object."""
        return self._control("disputes", payment_intent=payment_intent, **fields)

    def dispute_update(self, dispute_id: str, status: str) -> dict:
        """Move an emulated dispute on: `under_review`, `won` (the money is reinstated) or `lost`."""
        return self._control(f"disputes/{dispute_id}", status=status)

    def ledger(self, account_id: str) -> dict:
        """The account's PaymentIntents (charges expanded) and refunds, as the double has them."""
        return self._control("ledger", account=account_id)

    def confirm_setup(self, setup, number: str, *, authenticate: bool = True) -> dict:
        """What Stripe.js does on a page: confirm the SetupIntent with the card, then complete (or fail)
        3-D Secure if the bank asks. `setup` is a payments.gateways.base.MethodSetup."""
        confirm = f"{self.url}/v1/setup_intents/{setup.reference}/confirm"
        body = {"key": setup.publishable_key, "client_secret": setup.client_secret, "use_stripe_sdk": True}
        if setup.account:  # Stripe(key, {stripeAccount}) on a Connect platform's page
            body["_stripe_account"] = setup.account
        card = {"number": number, "exp_month": "12", "exp_year": "2034", "cvc": "123"}
        answer = requests.post(
            confirm,
            data=json.dumps({**body, "payment_method_data": {"type": "card", "card": card}}),
            timeout=10,
        ).json()
        if answer.get("status") == "requires_action":
            then = confirm if authenticate else confirm.replace("/confirm", "/cancel")
            answer = requests.post(then, data=json.dumps(body), timeout=10).json()
        return answer

    def intent_count(self, account_id: str) -> int:
        """How many PaymentIntents the account has (cheap: nothing is read from localstripe)."""
        return self._control("ledger", account=account_id, count_only=True)["payment_intents"]

    def reset(self) -> None:
        self._control("reset")


@contextlib.contextmanager
def running():
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.stripe_double"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        line = process.stdout.readline()
        if not line.startswith("READY "):
            raise RuntimeError(f"The Stripe test double did not start: {line!r}")
        yield StripeDouble(*line.split()[1:3])
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def json_of(body: bytes) -> dict:
    return json.loads(body)
