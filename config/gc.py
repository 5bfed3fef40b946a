"""Keep the objects loaded at start-up out of the garbage collector's full collections.

Called once per process after set-up: in the WSGI module, in each Celery worker process and by the
benchmarks, which measure the same processes. Django, the templates and the fonts (~150k objects) then
sit in a permanent generation that no collection walks; before, each full collection walked them all, a
45-60 ms pause in the middle of whatever request was running. This is the pattern `gc.freeze()` is
documented for (https://docs.python.org/3/library/gc.html#gc.freeze); the collector's thresholds stay
CPython's.
"""

import gc


def freeze_startup_objects() -> None:
    gc.collect()
    gc.freeze()
