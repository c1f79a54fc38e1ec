"""Debian's Chromium for the screen tests (tests/ui, tests/e2e, tests/kiosk), launched one way.

No D-Bus for the browser: Chromium aborts when the system bus it joined goes away, and the
printer simulators (ippeveprinter needs avahi, avahi needs the system bus) start and stop one
as simulations come and go on this machine.

Nor the shifted clock of `make test-clock`: libfaketime (LD_PRELOAD) is kept out of the
Playwright driver and the browser, which read no date the tests depend on (the page shows the
kiosk's clock, served by the kiosk) and crawl under it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from typing import Any

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
NO_BUS = "unix:path=/nonexistent/kofu-tests-no-dbus"
FAKETIME_VARS = ("LD_PRELOAD", "FAKETIME", "FAKETIME_DONT_FAKE_MONOTONIC", "DYLD_INSERT_LIBRARIES")


def _unfaked(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in FAKETIME_VARS}


@contextlib.contextmanager
def _without_faketime() -> Iterator[None]:
    """The driver is spawned with this process's environment: take libfaketime out of it for
    the spawn only (this process has its shifted clock already)."""
    saved = {k: os.environ.pop(k) for k in FAKETIME_VARS if k in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def start_playwright() -> Any:
    """Playwright's sync API, started (call ``.stop()``), its driver off libfaketime."""
    from playwright.sync_api import sync_playwright

    with _without_faketime():
        return sync_playwright().start()


@contextlib.contextmanager
def playwright() -> Iterator[Any]:
    pw = start_playwright()
    try:
        yield pw
    finally:
        pw.stop()


def launch(playwright: Any) -> Any:
    """A headless Chromium with touch-capable contexts, cut off from D-Bus."""
    env = {
        **_unfaked(dict(os.environ)),
        "DBUS_SYSTEM_BUS_ADDRESS": NO_BUS,
        "DBUS_SESSION_BUS_ADDRESS": NO_BUS,
    }
    return playwright.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, env=env
    )
