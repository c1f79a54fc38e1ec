"""Fixtures for the screen tests: the screen server in simulation mode (its own process, an
ephemeral port) and Debian's Chromium driven by Playwright with touch enabled."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.chromium import CHROMIUM, launch, playwright

# Loopback only: never through a proxy configured in the environment.
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
OPEN_NOW = "2026-11-24T10:00:00+09:00"


class SimScreen:
    """The running screen server plus helpers to inject events and read recorded actions."""

    pid = 0  # the server's process (a test may stop or kill it)

    def __init__(self, page_url: str) -> None:
        self.page_url = page_url  # with the screen token in its fragment
        self.url = page_url.partition("#")[0]

    def _call(self, method: str, path: str, body: object | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.url + path.lstrip("/"),
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with NO_PROXY.open(req, timeout=10) as resp:
            return json.loads(resp.read())

    def inject(self, type_: str, **fields: Any) -> str:
        state: str = self._call("POST", "/dev/events", {"type": type_, **fields})["state"]
        return state

    def state(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/dev/state")
        return result

    def actions(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "/dev/actions")
        return result

    def reset(self) -> None:
        self._call("POST", "/dev/reset", {})


@contextlib.contextmanager
def screen_server(*extra: str) -> Iterator[SimScreen]:
    """The screen server in simulation mode, in its own process on an ephemeral port."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim.screen", "--sim", "--port", "0", *extra],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("kofu-ui: "), line
        server = SimScreen(line.split(" ", 1)[1].strip())
        server.pid = proc.pid
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def sim_server() -> Iterator[SimScreen]:
    with screen_server("--now", OPEN_NOW) as server:
        yield server


class Browsers:
    """Debian's Chromium under Playwright, relaunched if it went away (a crash, or a machine
    shared with other test runs) so that one lost browser does not fail every later test."""

    def __init__(self, playwright: Any) -> None:
        self.playwright = playwright
        self.browser: Any = None

    def get(self) -> Any:
        if self.browser is None or not self.browser.is_connected():
            self.browser = launch(self.playwright)
        return self.browser

    def new_context(self) -> Any:
        return self.get().new_context(
            viewport={"width": 1280, "height": 800}, has_touch=True, locale="ja-JP"
        )

    def close(self) -> None:
        if self.browser is not None and self.browser.is_connected():
            self.browser.close()


# Module scope: Playwright's sync API keeps an event loop running in this thread while the
# browser is open, which would break asyncio.run() in any test that runs after these.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browsers]:
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian chromium is not installed")
    with playwright() as pw:
        browsers = Browsers(pw)
        try:
            yield browsers
        finally:
            browsers.close()


@pytest.fixture
def sim(sim_server: SimScreen) -> SimScreen:
    sim_server.reset()
    return sim_server


@pytest.fixture
def page(browser: Browsers, sim: SimScreen) -> Iterator[Any]:
    context = browser.new_context()
    pg = context.new_page()
    pg.goto(sim.page_url)
    pg.wait_for_selector('body[data-ready="1"]')
    try:
        yield pg
    finally:
        with contextlib.suppress(Exception):  # the browser may have gone away meanwhile
            context.close()


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Screenshots of key screens, for a person to look at (path printed by the tests)."""
    return tmp_path_factory.mktemp("screens")
