"""config.gc: once set up, a process keeps its start-up objects out of the collector's sight.

Run in a child interpreter: freezing the objects of the test process would keep them for the session.
"""

import subprocess
import sys

from django.conf import settings

CHILD = """
import gc, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
import django
django.setup()
thresholds = gc.get_threshold()
from config.gc import freeze_startup_objects
freeze_startup_objects()
print(gc.get_freeze_count(), gc.get_threshold() == thresholds)
"""


def test_start_up_objects_are_frozen_and_the_collectors_thresholds_left_alone():
    result = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, check=True, cwd=settings.BASE_DIR
    )
    frozen, thresholds_unchanged = result.stdout.split()
    assert int(frozen) > 50_000  # Django and the app's modules, set up
    assert thresholds_unchanged == "True"
