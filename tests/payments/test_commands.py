"""The operators' commands: charge_due and resolve_payments (the janitor, with --stale-seconds)."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_scopes import scopes_disabled

from invoicing.models import Invoice, InvoiceStatus
from payments.gateways import get_gateway
from payments.jobs import _claim_due
from payments.models import AttemptStatus, PaymentAttempt
from tests.payments.chaos import ledger_check, seed_due_invoices

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_charge_due_charges_what_is_due_and_says_how_many(settings):
    settings.PAYMENT_CHARGE_CONCURRENCY = 1  # threads would not see this test's transaction
    seeded = seed_due_invoices(count=3, partners=1, customers_per_partner=2)
    assert run("charge_due") == "3 payment attempts made\n"
    assert run("charge_due") == "0 payment attempts made\n"
    check = ledger_check(seeded)
    assert (check.ledger_charges, check.unpaid, check.double_charges) == (3, 0, 0)


def test_resolve_payments_records_a_charge_whose_worker_died_only_once_it_is_stale():
    seeded = seed_due_invoices(count=1, partners=1, customers_per_partner=1)
    (attempt,) = _claim_due(timezone.now(), 10)
    # The worker charged, then died before recording: the gateway has the money, the app does not.
    get_gateway().charge(
        token=attempt.gateway_token,
        amount=attempt.amount,
        currency=attempt.currency,
        idempotency_key=attempt.idempotency_key,
    )

    assert run("resolve_payments").startswith("0 payment attempt(s)")  # not stale yet (120 s)
    assert run("resolve_payments", "--stale-seconds", "0").startswith("1 payment attempt(s)")

    with scopes_disabled():
        assert PaymentAttempt.objects.get(pk=attempt.pk).status == AttemptStatus.SUCCEEDED
        assert Invoice.objects.get(pk=attempt.invoice_id).status == InvoiceStatus.PAID
    check = ledger_check(seeded)
    assert (check.ledger_charges, check.missing_charges, check.double_charges) == (1, 0, 0)


def test_resolve_payments_refuses_a_negative_age():
    with pytest.raises(CommandError, match="can't be negative"):
        call_command("resolve_payments", "--stale-seconds", "-1")
