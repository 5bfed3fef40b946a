"""Keep the garbage collector's pauses off requests' tail latency.

Called once per process after set-up: in the WSGI module, in each Celery worker process and by the
benchmarks, which measure the same processes.

1. The objects loaded at start-up (Django, templates, fonts, ~150k of them) move out of the collector's
   sight. A full collection otherwise walks them all every time: a 45-60 ms pause (bench/bench_pdf.py).
2. Full collections then run a tenth as often. CPython skips a full collection until the objects
   waiting for one exceed a quarter of those already in the oldest generation; once start-up objects
   are frozen that generation is nearly empty, the guard never holds, and a full collection came every
   ~70,000 allocations, walking every live object of the request in progress: 10-15 ms in the middle
   of an invoice PDF render, on about one render in twenty (its p95 and p99). Cyclic garbage that
   reaches the oldest generation is freed later, which is all this trades.
"""

import gc

FULL_COLLECTION_THRESHOLD = 100  # CPython's default is 10: collections of the middle generation


def freeze_startup_objects() -> None:
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_THRESHOLD)
