"""Debian's Chromium for the screen tests (tests/ui, tests/e2e, tests/kiosk), launched one way.

No D-Bus for the browser: Chromium aborts when the system bus it joined goes away, and the
printer simulators (ippeveprinter needs avahi, avahi needs the system bus) start and stop one
as simulations come and go on this machine.
"""

from __future__ import annotations

import os
import shutil
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


def launch(playwright: Any) -> Any:
    """A headless Chromium with touch-capable contexts, cut off from D-Bus."""
    env = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": NO_BUS, "DBUS_SESSION_BUS_ADDRESS": NO_BUS}
    return playwright.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, env=env
    )
