"""A clerk's shift on the real screen: `kofu sim` (every simulator, the real center, the kiosk
service) in a child process, Debian's Chromium under Playwright tapping the page, the sim
control panel's endpoint acting on the devices.

The clerk logs in from idle, sees the status, refills a hopper (bad counts first); a citizen
pays and the printer runs out of paper; the clerk logs in from the print failure, sees the
certificate number, reprints without a fee, collects the cash the session left, shows and
prints the daily report (read back from the receipt sink and from `kofu cash report --day`);
then the coprocessor link drops and the clerk logs in from out of service."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops

from tests.chromium import CHROMIUM, launch, playwright

ROOT = Path(__file__).resolve().parents[2]
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
CLERK_PIN = "246810"  # sim/whole.py SIM_CLERK_PIN
WRONG_PIN = "135792"

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM) or shutil.which("pcscd") is None,
    reason="needs Debian chromium and pcscd",
)


@pytest.fixture(scope="module")
def kofu_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    state = tmp_path_factory.mktemp("clerk-sim")
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
                url.append(m.group(1))  # the screen token in its fragment
                found.set()
        found.set()

    threading.Thread(target=pump, daemon=True).start()
    found.wait(180)
    try:
        if not url:
            pytest.fail("kofu sim did not start:\n" + "".join(lines[-30:]))
        yield url[0], state
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
    assert any("kofu sim: stopped" in line for line in lines), "".join(lines[-20:])


def panel(url: str, action: str, **fields: Any) -> Any:
    req = urllib.request.Request(
        f"{url}/sim/act",
        data=json.dumps({"action": action, **fields}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with NO_PROXY.open(req, timeout=150) as resp:
        return json.loads(resp.read())


def place_card(url: str, persona: str = "valid", wait_s: float = 150.0) -> None:
    """vpcd's slot is shared by every simulation on this machine: while another one's card is
    still connected (or just leaving) ours cannot connect yet, so try again for a while."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            panel(url, "place_card", persona=persona)
            return
        except urllib.error.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1.0)


def dev_state(url: str) -> Any:
    with NO_PROXY.open(f"{url}/dev/state", timeout=30) as resp:
        return json.loads(resp.read())


def test_a_clerks_shift_on_the_real_screen(kofu_sim: tuple[str, Path]) -> None:
    from playwright.sync_api import Page

    page_url, state = kofu_sim
    url = page_url.partition("#")[0].rstrip("/")
    receipts = state / "receipts"
    # Claim the shared vpcd slot for this sim (held until it stops), so no card of another
    # simulation on this machine shows up on our reader mid-test.
    place_card(url)
    panel(url, "remove_card")

    with playwright() as pw:
        browser = launch(pw)
        try:
            ctx = browser.new_context(
                viewport={"width": 1280, "height": 800}, has_touch=True, locale="ja-JP"
            )
            page: Page = ctx.new_page()
            page.goto(page_url)

            def on(screen: str, timeout: float = 30_000) -> None:
                try:
                    page.wait_for_selector(f'#screen[data-screen="{screen}"]', timeout=timeout)
                except Exception:
                    now = page.get_attribute("#screen", "data-screen")
                    raise AssertionError(f"waited for {screen}, screen shows {now}") from None

            def tap(testid: str) -> None:
                page.tap(f'[data-testid="{testid}"]')

            def text(testid: str) -> str:
                return page.inner_text(f'[data-testid="{testid}"]')

            def wait_text(testid: str, wanted: str, timeout: float = 15_000) -> None:
                page.wait_for_function(
                    "([id, w]) => { const e = document.querySelector(`[data-testid=\"${id}\"]`);"
                    " return e && e.innerText.includes(w); }",
                    arg=[testid, wanted],
                    timeout=timeout,
                )

            def error_shows(wanted: str) -> None:
                page.wait_for_function(
                    "(w) => { const e = document.querySelector('#error');"
                    " return e && !e.hidden && e.innerText.includes(w); }",
                    arg=wanted,
                    timeout=10_000,
                )

            def clerk_login() -> None:
                tap("clerk-key")
                on("clerk_pin")
                for d in CLERK_PIN:
                    tap(f"pin-key-{d}")
                page.wait_for_selector(
                    f'[data-testid="pin-dot"].filled >> nth={len(CLERK_PIN) - 1}'
                )
                tap("pin-ok")
                on("clerk")
                page.wait_for_selector('[data-testid="dev-printer"]')

            # --- from idle: a wrong PIN first, then status and a refill with bad counts -----
            on("idle")
            tap("clerk-key")
            on("clerk_pin")
            for d in WRONG_PIN:
                tap(f"pin-key-{d}")
            page.wait_for_selector(f'[data-testid="pin-dot"].filled >> nth={len(WRONG_PIN) - 1}')
            tap("pin-ok")
            error_shows("店員用暗証番号が違います")
            on("clerk_pin")
            tap("clerk-exit")
            on("idle")
            clerk_login()
            assert "正常" in text("dev-coin_acceptor")
            wait_text("hopper-coins-hopper4", "200 枚")
            tap("clerk-refill")
            on("clerk_refill")
            tap("refill-hopper4")
            tap("num-0")
            tap("refill-ok")
            error_shows("1枚以上")
            for d in "99999":
                tap(f"num-{d}")
            tap("refill-ok")
            error_shows("容量を超えます")
            for d in "50":
                tap(f"num-{d}")
            tap("refill-ok")
            on("clerk")
            wait_text("clerk-done", "補充を記録しました（5,000円）")
            wait_text("hopper-coins-hopper4", "250 枚")
            tap("clerk-exit")
            on("idle")

            # --- a citizen pays; the paper runs out before the first sheet ------------------
            panel(url, "paper_out")
            tap("start")
            on("language")
            tap("lang-ja")
            on("card")
            place_card(url)
            on("pin")
            for d in "1234":
                tap(f"pin-key-{d}")
            page.wait_for_selector('[data-testid="pin-dot"].filled >> nth=3')
            tap("pin-ok")
            on("certificate")
            tap("cert-juminhyo")
            on("subject")
            page.tap('[data-testid^="member-"] >> nth=0')
            tap("next")
            on("options")
            tap("next")
            on("copies")
            tap("copies-1")
            on("fee")
            tap("fee-ok")
            on("payment")
            panel(url, "insert_coin", yen=500)
            on("print_failed", timeout=90_000)

            # --- the clerk comes: reprint (numbers shown, no fee), collect, report ----------
            clerk_login()
            numbers = page.locator('[data-testid="reprint-number"]').all_inner_texts()
            assert len(numbers) == 1 and numbers[0].strip()
            panel(url, "printer_serviced")
            tap("clerk-reprint")
            wait_text("reprint-pending", "再印刷待ち 0 件", timeout=60_000)
            for action in ("pages_out", "take_pages", "change_out", "take_change"):
                panel(url, action)
            panel(url, "remove_card")
            assert "500" in text("cashbox-total")

            tap("clerk-collect")
            on("clerk_collect")
            wait_text("expect-500", "1 枚")
            assert "500円" in text("collect-total")
            tap("collect-ok")
            on("clerk")
            wait_text("clerk-done", "回収を記録しました（500円）")
            wait_text("cashbox-total", "硬貨金庫 0円")

            tap("clerk-report")
            on("clerk_report")
            page.wait_for_selector('[data-testid="report"]')
            assert text("rep-started").split()[-1] == "1"
            assert text("rep-print_failed").split()[-1] == "1"
            assert text("rep-reprints").split()[-1] == "1"
            assert "1 通" in text("rep-cert-juminhyo")
            assert "5,000円" not in text("report")  # a refill is not a fee
            shown = dev_state(url)["view"]["clerk_report"]
            before = set(receipts.glob("receipt-*.png"))
            tap("report-print")
            wait_text("clerk-done", "日次報告を印刷しました")
            tap("clerk-exit")
            on("idle")

            # --- out of service (link lost): the clerk can still log in --------------------
            panel(url, "link_loss")
            on("out_of_service", timeout=30_000)
            clerk_login()
            page.wait_for_selector('tr.bad[data-testid="dev-coprocessor"]', timeout=15_000)
            tap("clerk-exit")
            on("out_of_service")
            panel(url, "link_back")
            on("idle", timeout=30_000)
        finally:
            browser.close()

    # The printed report, read back: the sink's slip is the layout of the same figures that
    # `kofu cash report --day` prints, and those are the figures the screen showed.
    cli = subprocess.run(
        [sys.executable, "-c", "import sys; from host.cli import main; "
         "sys.exit(main(sys.argv[1:]))", "cash", "report",
         "--journal", str(state / "cash-journal.db"), "--day", shown["day"]],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    figures = json.loads(cli.stdout)
    assert figures["sessions"] == shown["sessions"]
    assert figures["collected_yen"] == 500 and figures["refills"]["hopper4"]["coins"] == 50
    (slip_path,) = set(receipts.glob("receipt-*.png")) - before
    from drivers.printer.receipt_layout import report_image
    from host.kiosk.clerk_port import report_slip

    expected = report_image(report_slip(shown, "kofu-kiosk")).convert("L")
    slip = Image.open(slip_path).convert("L")
    assert ImageChops.difference(expected, slip.crop((0, 0, *expected.size))).getbbox() is None

    # The audit trail: who signed in (the wrong PIN too), and every operation with the
    # clerk's id; refills and collections name the clerk in their own entries. No PIN digits
    # anywhere in the journal's files or the kiosk.toml the simulation wrote.
    from host.payment.journal import Journal
    from sim.whole import SIM_CLERK_ID

    journal = Journal(state / "cash-journal.db")
    try:
        entries = list(journal.entries())
    finally:
        journal.close()
    audit = [e.detail for e in entries if e.kind == "clerk"]
    events = [d["event"] for d in audit]
    assert events.count("signin_failed") == 1 and "lockout" not in events
    signins = [d for d in audit if d["event"] == "signin"]
    assert len(signins) == 3 and all(d["clerk"] == SIM_CLERK_ID for d in signins)
    ops = {d["op"] for d in audit if d["event"] == "op" and d["clerk"] == SIM_CLERK_ID}
    assert {"refill", "reprint", "collect", "report", "print_report"} <= ops
    assert [d["reason"] for d in audit if d["event"] == "signout"] == ["exit"] * 3
    (refill,) = [e for e in entries if e.kind == "refill"]
    (collection,) = [e for e in entries if e.kind == "collection"]
    assert refill.detail["clerk"] == collection.detail["clerk"] == SIM_CLERK_ID
    for path in [*state.glob("cash-journal.db*"), state / "kiosk.toml"]:
        data = path.read_bytes()
        assert CLERK_PIN.encode() not in data and WRONG_PIN.encode() not in data, path.name
