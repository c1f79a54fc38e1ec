"""Issue 20: while the host is down nothing takes money — the page watches its own link. The
host beats every 0.5 s; a page that hears nothing (the host was killed, or hangs) covers
itself with "out of service" in the session's language, and lifts the cover when the host
speaks again. Real page in Chromium, the screen server a real process stopped from outside."""

from __future__ import annotations

import os
import signal
from typing import Any

import pytest

from .conftest import OPEN_NOW, Browsers, screen_server

pytestmark = pytest.mark.slow

COVER = '[data-testid="host-lost"]'


def _open(browser: Browsers, url: str) -> Any:
    page = browser.new_context().new_page()
    page.goto(url)
    page.wait_for_selector('body[data-ready="1"]')
    assert not page.is_visible(COVER)
    return page


def test_a_host_that_hangs_then_resumes(browser: Browsers) -> None:
    with screen_server("--now", OPEN_NOW) as server:
        page = _open(browser, server.page_url)
        page.tap('[data-testid="start"]')
        page.tap('[data-testid="lang-en"]')
        page.wait_for_selector('#screen[data-screen="card"]')
        os.kill(server.pid, signal.SIGSTOP)  # alive, silent: the socket stays open
        try:
            cover = page.wait_for_selector(COVER, state="visible", timeout=5000)
            assert "out of service" in cover.inner_text().lower()  # the citizen's language
        finally:
            os.kill(server.pid, signal.SIGCONT)
        page.wait_for_selector(COVER, state="hidden", timeout=5000)
        page.context.close()


def test_a_host_killed_leaves_the_screen_out_of_service(browser: Browsers) -> None:
    with screen_server("--now", OPEN_NOW) as server:
        page = _open(browser, server.page_url)
        os.kill(server.pid, signal.SIGKILL)
        cover = page.wait_for_selector(COVER, state="visible", timeout=5000)
        assert "ご利用いただけません" in cover.inner_text()
        # nothing under the cover can be touched: it is what a tap anywhere lands on
        assert page.evaluate("document.elementFromPoint(640, 400).closest('#host-lost') !== null")
        page.context.close()
