"""config.gc: after start-up, building many objects sets off few young collections and no full one.

Run in a child interpreter: freezing the objects of the test process would keep them for the session.
"""

import subprocess
import sys

from django.conf import settings

# Builds 300,000 live container objects, as a large render does, and counts collections by generation.
CHILD = """
import gc, sys
from config.gc import freeze_startup_objects
if sys.argv[1] == "app":
    freeze_startup_objects()
else:
    gc.collect()
    gc.freeze()
collections = [0, 0, 0]
gc.callbacks.append(lambda phase, info: phase == "start" and collections.__setitem__(
    info["generation"], collections[info["generation"]] + 1))
tree = [[n] for n in range(300_000)]
print(*collections)
"""


def collections(setup: str) -> list[int]:
    """Collections of the young, middle and oldest generations while the child builds its tree."""
    result = subprocess.run(
        [sys.executable, "-c", CHILD, setup],
        capture_output=True,
        text=True,
        check=True,
        cwd=settings.BASE_DIR,
    )
    return [int(count) for count in result.stdout.split()]


def test_frozen_start_up_objects_with_cpythons_thresholds_mean_frequent_full_collections():
    young, _, full = collections("freeze-only")
    assert full >= 3
    assert young >= 300


def test_the_app_runs_no_full_collection_while_building_a_large_document():
    young, _, full = collections("app")
    assert full == 0
    assert young <= 40  # one per 10,000 new objects: 30, where CPython's default threshold runs ~430
