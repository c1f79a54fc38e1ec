"""The happy path through the real screen: `kofu sim` (every simulator, the real center, the
kiosk service) in a child process, Debian's Chromium under Playwright tapping the page, the
sim control panel's endpoint placing the card, dropping the coin and emptying the trays."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.chromium import CHROMIUM, launch

NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM) or shutil.which("pcscd") is None,
    reason="needs Debian chromium and pcscd",
)


@pytest.fixture(scope="module")
def kofu_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    state = tmp_path_factory.mktemp("whole")
    cmd = [sys.executable, "-c", "import sys; from host.cli import main; "
           "sys.exit(main(sys.argv[1:]))", "sim", "--state", str(state), "--port", "0"]  # fmt: skip
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    url: list[str] = []
    found = threading.Event()
    lines: list[str] = []

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            m = re.search(r"kiosk screen (http://\S+)", line)
            if m:
                url.append(m.group(1).rstrip("/"))
                found.set()
        found.set()

    threading.Thread(target=pump, daemon=True).start()
    found.wait(180)
    try:
        if not url:
            pytest.fail("kofu sim did not start:\n" + "".join(lines[-30:]))
        yield url[0]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        # the sim's own log is what explains a failed screen step
        sys.stderr.write("".join(lines[-60:]))
    assert any("kofu sim: stopped" in line for line in lines), "".join(lines[-20:])


def panel(url: str, action: str, **fields: Any) -> Any:
    req = urllib.request.Request(
        f"{url}/sim/act",
        data=json.dumps({"action": action, **fields}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with NO_PROXY.open(req, timeout=30) as resp:
        return json.loads(resp.read())


def test_happy_path_on_the_real_screen(kofu_sim: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            ctx = browser.new_context(
                viewport={"width": 1280, "height": 800}, has_touch=True, locale="ja-JP"
            )
            page = ctx.new_page()
            page.goto(kofu_sim + "/")

            def on(screen: str, timeout: float = 30_000) -> None:
                try:
                    page.wait_for_selector(f'#screen[data-screen="{screen}"]', timeout=timeout)
                except Exception:
                    now = page.get_attribute("#screen", "data-screen")
                    raise AssertionError(f"waited for {screen}, screen shows {now}") from None

            def tap(testid: str) -> None:
                page.tap(f'[data-testid="{testid}"]')

            on("idle")
            tap("start")
            on("language")
            tap("lang-ja")
            on("card")
            panel(kofu_sim, "place_card", persona="valid")
            on("pin")
            assert "3" in page.inner_text('[data-testid="tries-left"]')
            for d in "1234":
                tap(f"pin-key-{d}")
            page.wait_for_selector('[data-testid="pin-dot"].filled >> nth=3')
            tap("pin-ok")
            on("certificate")
            assert "住民票の写し" in page.inner_text("#screen")
            tap("cert-juminhyo")
            on("subject")
            page.tap('[data-testid^="member-"] >> nth=0')
            tap("next")
            on("options")
            tap("option-household")
            tap("next")
            on("copies")
            tap("copies-1")
            on("fee")
            tap("fee-ok")
            on("payment")
            panel(kofu_sim, "insert_coin", yen=500)
            on("collect", timeout=90_000)
            page.screenshot(path=str(tmp_path / "collect.png"))
            for action in ("pages_out", "change_out", "take_pages", "take_change"):
                panel(kofu_sim, action)
            panel(kofu_sim, "remove_card")
            page.wait_for_selector(
                '#screen[data-screen="thanks"], #screen[data-screen="idle"]', timeout=30_000
            )
        finally:
            browser.close()
