"""Shared pieces for benchmarks: Django set-up, timing, and the `BENCH <name> <value> <unit>` lines."""

import os
import statistics
import time
from collections.abc import Callable

import django


def setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    django.setup()


def ready() -> None:
    """Call once the benchmark has imported and warmed what it measures, as the WSGI module does."""
    from config.gc import freeze_startup_objects

    freeze_startup_objects()


def report(name: str, value: float, unit: str) -> None:
    print(
        f"BENCH {name} {value:.2f} {unit}" if isinstance(value, float) else f"BENCH {name} {value} {unit}",
        flush=True,
    )


def p95_ms(function: Callable[[], object], *, runs: int = 200, warmup: int = 20) -> float:
    for _ in range(warmup):
        function()
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.quantiles(timings, n=20)[18]
