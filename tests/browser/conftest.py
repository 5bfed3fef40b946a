"""Playwright driving a real Chromium against pytest-django's live server.

Chromium comes from the system (Debian's `chromium`); Playwright cannot download its own browsers here.
Without one, a developer's run skips these tests loudly; in CI (CI=true) a missing browser fails.

Every page a test's `page` opens is scanned by axe-core once it has loaded (see `open_page`): a serious
or critical violation, or any duplicate id, fails the test when it ends. axe-core comes from npm (see
tests/browser/test_accessibility.py); without it a laptop run says so once and scans nothing.
"""

import contextlib
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls in the same test are safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
AXE_INSTALL = "npm install --no-save --no-package-lock --prefix .cache/axe axe-core@4.10.2"
AXE = Path(
    os.environ.get("AXE_CORE_PATH")
    or Path(__file__).resolve().parents[2] / ".cache/axe/node_modules/axe-core/axe.min.js"
)
BLOCKING = {"serious", "critical"}
# axe-core 4.10 ships duplicate-id and duplicate-id-active disabled (deprecated in WCAG 2.2) and reports
# duplicate-id-aria as "needs review"; two inputs sharing an id still break their labels, so all three
# run and any of their findings blocks.
DUPLICATE_ID_RULES = ("duplicate-id", "duplicate-id-active", "duplicate-id-aria")
AXE_OPTIONS = json.dumps(
    {
        "resultTypes": ["violations", "incomplete"],
        "iframes": False,  # the outbox's sandboxed email frames run no script: axe would wait for them
        "rules": {rule: {"enabled": True} for rule in DUPLICATE_ID_RULES},
    }
)
AXE_SUMMARY = """r => [...r.violations, ...r.incomplete.filter(v => v.id.startsWith("duplicate-id"))]
  .map(v => ({
    id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))
  }))"""
# Runs in every page's top frame after load and hands the findings to the test (`__axeReport`).
AXE_RUNNER = f"""if (window.top === window) {{
  window.addEventListener("load", () => {{
    if (!window.axe) {{ return; }}
    axe.run(document, {AXE_OPTIONS}).then({AXE_SUMMARY}).then(found => {{
      window.__axeReport(location.pathname + location.search, found);
      window.__axeDone = true;
    }});
  }});
}}"""


def axe_blocking(found: list[dict]) -> list[dict]:
    """The findings that fail a test: serious or critical ones, and any duplicate id."""
    return [v for v in found if v["impact"] in BLOCKING or v["id"] in DUPLICATE_ID_RULES]


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


def open_page(browser, live_server, *, viewport=None):
    """A new context and page on the live server whose every loaded page axe-core scans: the page's
    `scanned` lists (path, findings) and `axe_check()` fails on what blocks. Its `console_errors` lists
    what the console said was an error."""
    context = browser.new_context(
        base_url=live_server.url, viewport=viewport or {"width": 1280, "height": 800}
    )
    scanned: list[tuple[str, list[dict]]] = []
    if AXE.exists():
        context.expose_binding("__axeReport", lambda source, path, found: scanned.append((path, found)))
        context.add_init_script(path=str(AXE))
        context.add_init_script(script=AXE_RUNNER)
    elif os.environ.get("CI"):
        pytest.fail(f"NO AXE-CORE at {AXE}: run `{AXE_INSTALL}`.")
    page = context.new_page()
    page.set_default_timeout(10_000)
    console_errors = []
    page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
    page.console_errors = console_errors
    page.scanned = scanned

    def axe_check() -> None:
        if not AXE.exists() or page.is_closed():
            return
        from playwright.sync_api import Error as PlaywrightError

        with contextlib.suppress(PlaywrightError):  # the last page's scan, if it is still running
            page.wait_for_function("() => window.__axeDone === true", timeout=5_000)
        blocking = {path: axe_blocking(found) for path, found in scanned if axe_blocking(found)}
        assert blocking == {}, "axe-core found on the pages visited:\n" + json.dumps(blocking, indent=1)

    page.axe_check = axe_check
    return context, page


@pytest.fixture
def page(browser, live_server, request):
    context, page = open_page(browser, live_server)
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    try:
        page.axe_check()
    finally:
        context.close()
