"""Exactly once, under crashes: 8 due-date runners in separate processes over 2,000 due invoices, 3 of
them SIGKILLed mid-run, 1% of charges followed by the runner's process dying before it records the
outcome, then the janitor. The app's books must match the sandbox gateway's own ledger exactly."""

import pytest
from django.db import connection

from payments.services import processor_connect_stripe
from tests import stripe_double
from tests.factories.payments import stripe_card_for
from tests.payments.chaos import child_env, ledger_check, run_chaos, seed_due_invoices

INVOICES = 2_000
RUNNERS = 8
KILLS = 3


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, databases=["default", "sandbox"])
def test_due_date_runners_charge_each_invoice_exactly_once_despite_kills_and_crashes():
    seeded = seed_due_invoices(count=INVOICES)
    env = child_env(connection.settings_dict, settings_module="tests.child_settings")

    run = run_chaos(env=env, seeded=seeded, runners=RUNNERS, kills=KILLS, crash_rate=0.01, latency_ms=2)

    print(f"chaos run: {run}")  # shown with -s or on failure
    assert not run.errors, "\n\n".join(run.errors)
    # Otherwise the test proves nothing: processes really died, by SIGKILL and mid-charge.
    assert run.killed == KILLS, run
    assert run.crashed >= 3, run
    check = ledger_check(seeded)
    assert check.ledger_charges == INVOICES, check
    assert check.double_charges == 0, check
    assert check.reused_keys == 0, check
    assert check.missing_charges == 0, check
    assert check.phantom_payments == 0, check
    assert check.unpaid == 0, check
    assert check.unresolved_attempts == 0, check


STRIPE_INVOICES = 500


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, databases=["default", "sandbox"])
def test_stripe_charges_each_invoice_exactly_once_despite_kills_and_crashes(settings):
    """The same run with the Stripe adapter against the test double (a fresh one, its own ledger)."""
    with stripe_double.running() as double:
        settings.STRIPE_API_BASE = double.url
        accounts = {}

        def connect(partner):
            keys = double.account(name=partner.name)
            accounts[partner.pk] = keys["id"]
            processor_connect_stripe(
                partner=partner,
                secret_key=keys["secret_key"],
                publishable_key=keys["publishable_key"],
                actor=None,
            )

        def ledger() -> list[dict]:
            return [
                {
                    "charge_id": intent["id"],
                    "idempotency_key": intent["metadata"].get("idempotency_key", ""),
                    "amount": intent["amount"],
                    "status": intent["status"],
                }
                for account in accounts.values()
                for intent in double.ledger(account)["payment_intents"]
            ]

        seeded = seed_due_invoices(
            count=STRIPE_INVOICES,
            partners=2,
            customers_per_partner=6,
            label="Chaos Stripe",
            connect=connect,
            save_card=lambda customer: stripe_card_for(customer, double),
        )
        seeded.ledger = ledger
        seeded.ledger_count = lambda: sum(double.intent_count(account) for account in accounts.values())
        env = {
            **child_env(connection.settings_dict, settings_module="tests.child_settings"),
            "STRIPE_API_BASE": double.url,
            "STRIPE_TIMEOUT_SECONDS": "10",
        }
        run = run_chaos(env=env, seeded=seeded, runners=6, kills=2, crash_rate=0.02, timeout=400)
        print(f"chaos run (Stripe): {run}")
        assert not run.errors, "\n\n".join(run.errors)
        assert run.killed == 2, run
        assert run.crashed >= 3, run
        check = ledger_check(seeded)
        print(f"ledger (Stripe): {check}")
    assert check.ledger_charges == STRIPE_INVOICES, check
    assert check.double_charges == 0, check
    assert check.reused_keys == 0, check
    assert check.missing_charges == 0, check
    assert check.phantom_payments == 0, check
    assert check.unpaid == 0, check
    assert check.unresolved_attempts == 0, check
