"""Playwright driving a real Chromium against pytest-django's live server.

Chromium comes from the system (Debian's `chromium`); Playwright cannot download its own browsers here.
Without one, a developer's run skips these tests loudly; in CI (CI=true) a missing browser fails.
"""

import os
import shutil
import sys
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls in the same test are safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM:
        message = (
            "NO CHROMIUM FOUND: browser tests cannot run. Install Debian's `chromium` or set CHROMIUM_PATH."
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        print(f"\n\n*** {message} SKIPPING THEM. ***\n", file=sys.stderr)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server, request):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    console_errors = []
    page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
    page.console_errors = console_errors
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
