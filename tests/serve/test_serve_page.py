"""The incident page in a real headless Chromium (Debian's) driven by Playwright."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.fixtures_servers import missing
from tests.support.helpers import ok
from tests.support.serve_support import alert, notification, serving

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("MLSRE_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
EVIL = '<script>window.pwned = 1</script><b id="evil">bold</b>'


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        missing("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright (pip)")
    with sync_playwright() as p:
        own = tmp_path / "chromium-home"  # Chromium's caches and config stay out of $HOME
        env: dict[str, str | float | bool] = {
            **os.environ,
            "HOME": str(own),
            "XDG_CACHE_HOME": str(own / "cache"),
            "XDG_CONFIG_HOME": str(own / "config"),
        }
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], env=env)
        try:
            yield b
        finally:
            b.close()


def test_page_shows_the_webhook_incident_escaped_and_updates_itself(
    serve_ws: Path, browser: Any
) -> None:
    body = notification([alert("EchoAlert", model="m<i>1</i>", annotations={"summary": EVIL})])
    with serving(serve_ws, "--refresh", "1", "--dry-run") as srv:
        assert srv.client().post(body).status == 200
        page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
        dialogs: list[str] = []

        def on_dialog(dialog: Any) -> None:
            dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.goto(f"{srv.url}/")
        # the page needs the server's token; a wrong one is refused, the right one remembered
        assert page.locator("#incidents").count() == 0
        page.fill("#token", "not-the-token")
        page.click("#signin")
        assert page.locator("#problem").inner_text() == "wrong token"
        page.fill("#token", srv.token or "")
        page.click("#signin")
        page.wait_for_url(f"{srv.url}/")
        row = page.locator("#incidents tbody tr")
        assert row.count() == 1
        assert row.locator("td").nth(0).inner_text() == "INC-1"
        assert row.locator("td").nth(3).inner_text() == f"Echo: m<i>1</i> {EVIL}"
        assert page.locator("#evil").count() == 0 and page.locator("i").count() == 0
        assert page.evaluate("window.pwned") is None
        fits = "document.documentElement.scrollWidth <= window.innerWidth"
        assert page.evaluate(fits)

        page.locator("#incidents a").first.click()
        page.wait_for_url(f"{srv.url}/incidents/INC-1")
        page.locator("#steps").get_by_role("cell", name="look", exact=True).wait_for(timeout=20_000)
        assert page.locator("#status").inner_text() == "open"
        assert "SEV2" in page.locator("h1").inner_text()
        steps = page.locator("#steps tbody tr").all_inner_texts()
        assert any(s.startswith("look\tpassed") for s in steps), steps
        assert page.evaluate(fits)
        page.screenshot(path=str(serve_ws / "incident.png"), full_page=True)

        # a person writes on the incident; the open page shows it without a manual reload
        ok("incident", "note", "INC-1", "scribe: <u>rollback</u> at 03:12")
        ok("incident", "assign", "INC-1", "alice", "--role", "commander")
        page.locator("#timeline td", has_text="scribe: <u>rollback</u> at 03:12").wait_for(
            timeout=10_000
        )
        assert page.locator("#state dd", has_text="alice").count() == 1
        assert page.locator("u").count() == 0
        assert page.evaluate("window.pwned") is None
        assert dialogs == []
