"""Move the objects loaded at start-up (Django, templates, fonts) out of the garbage collector's sight.

A full collection otherwise walks ~120k long-lived objects every time, a 45-60 ms pause that lands on
a request's tail latency (seen in bench/bench_pdf.py). Called once per process after set-up: in the
WSGI module, in each Celery worker process and by the benchmarks, which measure the same processes.
"""

import gc


def freeze_startup_objects() -> None:
    gc.collect()
    gc.freeze()
