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
3. Young collections run after 10,000 new objects rather than 700. A render keeps its box tree and
   styles alive until it ends, and each young collection walks what it has built so far: with
   CPython's 700, an invoice PDF saw about four young and one middle collection per render. In blocks
   of 20 renders alternated in one process, 10,000 took the median from 37.2 to 35.4 ms.
"""

import gc

YOUNG_COLLECTION_THRESHOLD = 10_000  # CPython's default is 700: new objects not yet collected
FULL_COLLECTION_THRESHOLD = 100  # CPython's default is 10: collections of the middle generation


def freeze_startup_objects() -> None:
    gc.collect()
    gc.freeze()
    _, middle, _ = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, middle, FULL_COLLECTION_THRESHOLD)
