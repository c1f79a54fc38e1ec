"""The e2e tests' view of the kiosk: `kofu sim` as a child process with its panel, and
the citizen (`Kiosk`) tapping the screen in Chromium and using the panel as hands."""

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
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.chromium import CHROMIUM
from tests.clock import service_morning

ROOT = Path(__file__).resolve().parents[2]
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
CARD_PIN = "1234"  # the virtual card's PIN (sim/card)
CLERK_PIN = "246810"  # the simulated kiosk's clerk PIN (sim/whole.py SIM_CLERK_PIN)
RESTING = ("idle", "out_of_service", "closed")

needs_sim = pytest.mark.skipif(
    not os.path.exists(CHROMIUM)
    or shutil.which("pcscd") is None
    or shutil.which("ippeveprinter") is None,
    reason="needs Debian chromium, pcscd and ippeveprinter",
)


class SimProcess:
    """`kofu sim` running in its own process group; its output is kept for failure messages."""

    def __init__(self, state: Path, args: list[str], env: dict[str, str] | None = None) -> None:
        self.state = state
        cmd = [sys.executable, "-c", "import sys; from host.cli import main; "
               "sys.exit(main(sys.argv[1:]))", "sim", "--state", str(state), "--port", "0",
               *args]  # fmt: skip
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True, env={**os.environ, **(env or {})},
        )  # fmt: skip
        self.lines: list[str] = []
        self.url = ""
        self.page_url = ""
        self._found = threading.Event()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            m = re.search(r"kiosk screen (http://\S+)", line)
            if m:
                self.page_url = m.group(1)  # the screen token in its fragment
                self.url = self.page_url.partition("#")[0].rstrip("/")
                self._found.set()
        self._found.set()

    def wait_started(self, timeout: float = 180) -> None:
        self._found.wait(timeout)
        if not self.url:
            self.stop()
            pytest.fail("kofu sim did not start:\n" + self.tail())

    def tail(self, n: int = 30) -> str:
        return "".join(self.lines[-n:])

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)

    # --- the panel ---------------------------------------------------------------------
    def _call(self, path: str, body: object | None = None) -> Any:
        req = urllib.request.Request(
            self.url + path,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="GET" if body is None else "POST",
        )
        with NO_PROXY.open(req, timeout=30) as resp:
            return json.loads(resp.read())

    def act(self, action: str, **fields: Any) -> Any:
        return self._call("/sim/act", {"action": action, **fields})

    def status(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("/sim/status")
        return result

    def outputs(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("/sim/outputs")
        return result

    def voice(self) -> list[str]:
        """The prompts the kiosk has spoken so far (the sim voice backend's record)."""
        return [p["prompt"] for p in self._call("/sim/voice")]

    def wait_outputs(
        self, done: Callable[[dict[str, Any]], bool], timeout: float = 20
    ) -> dict[str, Any]:
        """Poll `outputs` until ``done`` says so (the receipt follows the pages)."""
        deadline = time.monotonic() + timeout
        while not done(out := self.outputs()):
            if time.monotonic() > deadline:
                raise AssertionError(f"devices never got there: {out}")
            time.sleep(0.1)
        return out

    def view(self) -> dict[str, Any]:
        """The view the screen shows (the screen server's own record of it)."""
        result: dict[str, Any] = self._call("/dev/state")["view"]
        return result

    def trust(self, path: Path) -> Path:
        path.write_text(json.dumps(self._call("/sim/trust")), encoding="utf-8")
        return path

    def wait_state(self, *states: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while True:
            state = str(self.status()["state"])
            if state in states:
                return state
            if time.monotonic() > deadline:
                raise AssertionError(f"kiosk in {state}, waited for {states}")
            time.sleep(0.1)


def kofu(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the `kofu` console entry point the way an operator would."""
    cmd = [sys.executable, "-c", "import sys; from host.cli import main; "
           "sys.exit(main(sys.argv[1:]))", *args]  # fmt: skip
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def stop_sim(sim: SimProcess) -> None:
    """SIGTERM (what systemd sends): every part stops and the process exits 0."""
    sim.stop()
    assert any("kofu sim: stopped" in line for line in sim.lines), sim.tail(20)
    assert sim.proc.returncode == 0, f"exit {sim.proc.returncode}:\n{sim.tail(20)}"


class Kiosk:
    """The citizen at the kiosk: taps the screen in Chromium, uses the panel for the card,
    the money and the trays; reads the screen to check what the kiosk shows."""

    def __init__(self, sim: SimProcess, page: Any) -> None:
        self.sim = sim
        self.page = page

    # --- the screen --------------------------------------------------------------------
    def screen(self) -> str:
        return str(self.page.get_attribute("#screen", "data-screen") or "")

    def on(self, *screens: str, timeout: float = 30) -> str:
        sel = ", ".join(f'#screen[data-screen="{s}"]' for s in screens)
        try:
            self.page.wait_for_selector(sel, timeout=timeout * 1000)
        except Exception:
            status = self.sim.status()
            raise AssertionError(
                f"waited for {screens}, screen shows {self.screen()} "
                f"(kiosk {status['state']}, device health {status['health']})"
            ) from None
        return self.screen()

    def tap(self, testid: str) -> None:
        self.page.tap(f'[data-testid="{testid}"]')

    def tap_text(self, prefix: str, text: str) -> None:
        self.page.locator(f'[data-testid^="{prefix}"]', has_text=text).tap()

    def text(self, testid: str = "") -> str:
        return str(self.page.inner_text(f'[data-testid="{testid}"]' if testid else "#screen"))

    # --- the citizen's steps -----------------------------------------------------------
    def start(self, persona: str = "valid", lang: str = "ja") -> None:
        self.on("idle")
        self.tap("start")
        self.on("language")
        self.tap(f"lang-{lang}")
        self.on("card")
        self.sim.act("place_card", persona=persona)

    def enter_pin(self, digits: str) -> None:
        for d in digits:
            self.tap(f"pin-key-{d}")
        self.page.wait_for_selector(f'[data-testid="pin-dot"].filled >> nth={len(digits) - 1}')
        self.tap("pin-ok")

    def login(self, persona: str = "valid") -> None:
        self.start(persona)
        self.on("pin")
        self.enter_pin(CARD_PIN)
        self.on("certificate")

    def insert(self, *yen: int) -> None:
        for v in yen:
            if v >= 1000:
                self.sim.act("insert_bill", yen=v)
                continue
            if not self.try_coin(v):
                raise AssertionError(f"the acceptor never took a {v}-yen coin")

    def try_coin(self, yen: int, within: float = 10) -> bool:
        """Drop a coin until the acceptor takes it (a coin dropped before the acceptor was
        enabled comes back from the return cup); False if it never did within ``within``."""
        deadline = time.monotonic() + within
        while not self.sim.act("insert_coin", yen=yen).get("taken"):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.2)  # a person's pace, not a flood
        return True

    def paid_so_far(self, yen: int, timeout: float = 15) -> None:
        """Wait until the payment screen counts ``yen`` inserted."""
        deadline = time.monotonic() + timeout
        while self.sim.view().get("inserted_yen", 0) < yen:
            if time.monotonic() > deadline:
                raise AssertionError(f"inserted: {self.sim.view().get('inserted_yen')}")
            time.sleep(0.05)

    def take_everything(self) -> None:
        for action in ("pages_out", "change_out", "take_pages", "take_change", "remove_card"):
            self.sim.act(action)

    def finish(self, timeout: float = 60) -> None:
        """End whatever is on screen and bring the kiosk back to rest."""
        deadline = time.monotonic() + timeout
        while True:
            state = str(self.sim.status()["state"])
            if state in RESTING:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"kiosk stuck in {state}")
            try:
                if state == "notice":
                    self.sim.act("remove_card")
                    self.tap("notice-ok")
                elif state in ("clerk", "clerk_pin"):
                    self.tap("clerk-exit")
                elif self.page.locator('[data-testid="cancel"]').count():
                    self.tap("cancel")
                else:
                    self.take_everything()
            except Exception:
                pass  # the screen changed under the tap: look again
            time.sleep(0.3)


class Sims:
    """One `kofu sim` at a time (they share vpcd slot 0 and pcscd): asking for another
    configuration stops the running one; the same configuration gets the running one."""

    def __init__(self, tmp: pytest.TempPathFactory) -> None:
        self.tmp = tmp
        # the clock every simulation runs at unless a test names its own (`--now`)
        self.now = service_morning().isoformat()
        self.key: tuple[tuple[str, ...], tuple[tuple[str, str], ...]] | None = None
        self.sim: SimProcess | None = None

    def get(self, *args: str, env: dict[str, str] | None = None) -> SimProcess:
        if "--now" not in args:
            args = ("--now", self.now, *args)
        key = (args, tuple(sorted((env or {}).items())))
        if self.sim is not None and key == self.key and self.sim.proc.poll() is None:
            return self.sim
        self.stop()
        self.key, self.sim = key, SimProcess(self.tmp.mktemp("kofu-sim"), list(args), env)
        self.sim.wait_started()
        return self.sim

    def stop(self) -> None:
        sim, self.sim = self.sim, None
        if sim is not None:
            stop_sim(sim)
