"""config.gc: after start-up, a request that builds many objects sets off no full collection.

Run in a child interpreter: freezing the objects of the test process would keep them for the session.
"""

import subprocess
import sys

from django.conf import settings

# Builds 300,000 live container objects, as a large render does, and counts full collections.
CHILD = """
import gc, sys
from config.gc import freeze_startup_objects
if sys.argv[1] == "app":
    freeze_startup_objects()
else:
    gc.collect()
    gc.freeze()
full = []
gc.callbacks.append(lambda phase, info: phase == "start" and info["generation"] == 2 and full.append(1))
tree = [[n] for n in range(300_000)]
print(len(full))
"""


def full_collections(setup: str) -> int:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, setup],
        capture_output=True,
        text=True,
        check=True,
        cwd=settings.BASE_DIR,
    )
    return int(result.stdout)


def test_frozen_start_up_objects_with_cpythons_thresholds_mean_frequent_full_collections():
    assert full_collections("freeze-only") >= 3


def test_the_app_runs_no_full_collection_while_building_a_large_document():
    assert full_collections("app") == 0
