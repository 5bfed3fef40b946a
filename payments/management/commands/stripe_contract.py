"""Run the Gateway contract suite (tests/payments/test_gateway_contract.py) against Stripe's real test
mode with a test key. Needs the internet and the development requirements; never run in CI."""

import os
import subprocess
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Run the payment gateway contract tests against Stripe's real test mode (sk_test_… key)."

    def add_arguments(self, parser):
        parser.add_argument("--secret-key", required=True, help="A test-mode secret key (sk_test_…)")
        parser.add_argument("--publishable-key", required=True, help="Its publishable key (pk_test_…)")

    def handle(self, *args, secret_key: str, publishable_key: str, **options):
        if not secret_key.startswith(("sk_test_", "rk_test_")) or not publishable_key.startswith("pk_test_"):
            raise CommandError(
                "Use test-mode keys (sk_test_/rk_test_ and pk_test_): this charges test cards."
            )
        environment = {
            **os.environ,
            "STRIPE_CONTRACT_SECRET_KEY": secret_key,
            "STRIPE_CONTRACT_PUBLISHABLE_KEY": publishable_key,
        }
        test = str(settings.BASE_DIR / "tests" / "payments" / "test_gateway_contract.py")
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            test,
            "-k",
            "stripe-test-mode",
        ]
        finished = subprocess.run(command, env=environment, cwd=settings.BASE_DIR, check=False)  # noqa: S603
        if finished.returncode:
            raise CommandError(
                f"The contract failed against Stripe's test mode (exit {finished.returncode})."
            )
        self.stdout.write("The contract holds against Stripe's test mode.")
