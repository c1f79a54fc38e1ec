"""systemd's notify protocol without a dependency: one datagram per message to
``$NOTIFY_SOCKET`` (a path, or ``@name`` for the abstract namespace).

``READY=1`` once the screen serves, ``STATUS=`` the health summary, ``WATCHDOG=1`` every
half ``WatchdogSec`` from a task on the event loop: a hung loop stops the pings and systemd
restarts the service. Outside systemd (no ``NOTIFY_SOCKET``) every call does nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger("kofu.kiosk.sdnotify")


def _address(env: Mapping[str, str]) -> str | None:
    addr = env.get("NOTIFY_SOCKET", "")
    if not addr:
        return None
    if addr.startswith("@"):
        return "\0" + addr[1:]
    return addr


def notify(message: str, env: Mapping[str, str] | None = None) -> bool:
    """Send one notification; False when not under systemd or the socket is gone."""
    addr = _address(os.environ if env is None else env)
    if addr is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(addr)
            sock.sendall(message.encode("utf-8", "replace"))
    except OSError as exc:
        log.debug("sd_notify failed: %s", type(exc).__name__)
        return False
    return True


def watchdog_period(env: Mapping[str, str] | None = None) -> float | None:
    """Seconds between WATCHDOG=1 pings (half of WatchdogSec), None when not asked for."""
    env = os.environ if env is None else env
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) <= 0:
        return None
    if pid and pid != str(os.getpid()):
        return None  # meant for another process (a parent that exec'd us is not systemd)
    return int(usec) / 1e6 / 2


class Notifier:
    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self.env = dict(os.environ if env is None else env)
        self._status = ""
        self._task: asyncio.Task[None] | None = None

    def ready(self, status: str = "") -> bool:
        return notify("READY=1" + (f"\nSTATUS={status}" if status else ""), self.env)

    def status(self, text: str) -> bool:
        if text == self._status:
            return False
        self._status = text
        return notify(f"STATUS={text}", self.env)

    def stopping(self) -> bool:
        return notify("STOPPING=1", self.env)

    def start_watchdog(self) -> None:
        period = watchdog_period(self.env)
        if period is not None and self._task is None:
            self._task = asyncio.create_task(self._ping(period), name="kofu-watchdog")

    async def _ping(self, period: float) -> None:
        while True:
            notify("WATCHDOG=1", self.env)
            await asyncio.sleep(period)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
