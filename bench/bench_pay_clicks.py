"""BENCH pay_clicks: the customer's clicks from opening the emailed pay link to "Paid" with a saved card
(target 2), and pay_clicks_new_card (one form submit). They are counted by the browser test that clicks
through it (tests/browser/test_pay_portal.py, Chromium through Playwright); this runs that test with the
test settings against a throwaway test database and passes on its BENCH lines."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST = "tests/browser/test_pay_portal.py"

result = subprocess.run(
    [sys.executable, "-m", "pytest", TEST, "-q", "-s", "-p", "no:cacheprovider", "--ds=config.settings.test"],
    cwd=ROOT,
    env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"},
    capture_output=True,
    text=True,
    check=False,
)
lines = re.findall(r"^BENCH pay_clicks\S* .*$", result.stdout, re.MULTILINE)
for line in lines:
    print(line, flush=True)
if result.returncode != 0 or not lines:
    print(result.stdout[-3000:], result.stderr[-3000:], sep="\n", file=sys.stderr)
    sys.exit(f"{TEST} failed or was skipped (no Chromium?): no pay_clicks figure")
