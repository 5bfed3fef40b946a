"""Gateways (the sandbox, Stripe) that crash their process right after a successful charge, for the
chaos test.

Configured from the environment of each runner process (the chaos module sets it):
CHAOS_CRASH_RATE (probability per succeeded charge), CHAOS_SEED (this process's random seed) and
CHAOS_MARK (a file touched after the process's first succeeded charge, so the orchestrator kills only
runners that are really charging). Test-only: never configure it anywhere else.
"""

import os
import random
import threading
from pathlib import Path

from payments.gateways.base import Charge, ChargeStatus
from payments.gateways.sandbox.gateway import SandboxGateway
from payments.gateways.stripe.gateway import StripeGateway

CRASH_EXIT_CODE = 86


class Crashing:
    def __init__(self, **options):
        super().__init__(**options)
        self.crash_rate = float(os.environ.get("CHAOS_CRASH_RATE", "0"))
        self.random = random.Random(int(os.environ.get("CHAOS_SEED", "0")))
        self.mark = Path(os.environ["CHAOS_MARK"]) if os.environ.get("CHAOS_MARK") else None
        self.lock = threading.Lock()  # the due-date job calls the gateway from several threads

    def charge(self, **request) -> Charge:
        charge = super().charge(**request)
        if charge.status != ChargeStatus.SUCCEEDED:
            return charge
        with self.lock:
            if self.mark and not self.mark.exists():
                self.mark.touch()
            crash = self.random.random() < self.crash_rate
        if crash:
            # The processor has the money; this process dies before the app hears about it.
            os._exit(CRASH_EXIT_CODE)
        return charge


class CrashingSandboxGateway(Crashing, SandboxGateway):
    pass


class CrashingStripeGateway(Crashing, StripeGateway):
    pass
