"""The device manager: one supervised unit per device, started, checked and restarted.

A unit wraps one driver (the card reader, the cash desk, the A4 printer, the receipt printer,
the coprocessor link, the center client). The manager starts each; a unit that fails to start
or whose check raises :class:`UnitDown` (the driver died: a port vanished, a task crashed)
marks its devices unhealthy with a short reason and is restarted after a capped exponential
backoff. Restarts happen only while no citizen session is live (``busy()``): a restart under
a session could lose money or mix sessions. Checks of units marked ``idle_only`` (the cash
desk, the printers: their drivers serve the session) also wait for the kiosk to be at rest;
the others (the link, the reader list, the center) are checked during sessions too, so a
session learns of the center going away while the citizen pays.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from host.session.events import Device

from .health import HealthBoard
from .readiness import Reasons

log = logging.getLogger("kofu.kiosk.devices")


class UnitDown(Exception):
    """The unit's driver is dead and must be restarted; the message is a short reason."""


class Unit(Protocol):
    name: str
    devices: tuple[Device, ...]
    idle_only: bool  # checked only while no session is live

    async def start(self) -> None:
        """Open the driver; raises on failure (any exception: the unit is down)."""
        ...

    async def check(self) -> Reasons:
        """Readiness: the devices that are not usable now, with a reason each.
        Raises UnitDown when the driver itself is gone."""
        ...

    async def stop(self) -> None: ...


@dataclass(frozen=True)
class Backoff:
    first_s: float = 1.0
    cap_s: float = 60.0
    factor: float = 2.0

    def delay(self, failures: int) -> float:
        """Wait before restart attempt ``failures`` (1 = right after the first failure)."""
        return min(self.cap_s, self.first_s * self.factor ** max(0, failures - 1))


def reason_of(exc: BaseException) -> str:
    # The exception's type, never its message: messages may carry paths or data.
    if isinstance(exc, UnitDown):
        return str(exc)[:60] or "down"
    return f"start failed: {type(exc).__name__}"


class Supervised:
    """One unit's life: running or not, failures in a row, the last reason."""

    def __init__(self, unit: Unit) -> None:
        self.unit = unit
        self.running = False
        self.failures = 0
        self.restarts = 0
        self.next_try = 0.0  # loop time of the next start attempt


class DeviceManager:
    def __init__(
        self,
        units: list[Unit],
        board: HealthBoard,
        busy: Callable[[], bool],
        *,
        poll_s: float = 5.0,
        backoff: Backoff | None = None,
        check_timeout_s: float = 15.0,
    ) -> None:
        self.units = [Supervised(u) for u in units]
        self.board = board
        self.busy = busy
        self.poll_s = poll_s
        self.backoff = backoff or Backoff()
        self.check_timeout_s = check_timeout_s
        self.after_pass: Callable[[], None] | None = None  # e.g. reconcile the session
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self.passes = 0

    def unit(self, name: str) -> Supervised:
        return next(s for s in self.units if s.unit.name == name)

    def _mark(self, s: Supervised, reasons: Reasons) -> None:
        for device in s.unit.devices:
            self.board.report(device, device not in reasons, reasons.get(device, ""))

    def _down(self, s: Supervised, reason: str) -> None:
        s.failures += 1
        delay = self.backoff.delay(s.failures)
        s.next_try = asyncio.get_running_loop().time() + delay
        log.warning("%s down (%s): restart in %.1f s", s.unit.name, reason, delay)
        self._mark(s, {d: reason for d in s.unit.devices})

    async def _start(self, s: Supervised) -> None:
        try:
            await asyncio.wait_for(s.unit.start(), self.check_timeout_s)
        except Exception as exc:
            with contextlib.suppress(Exception):
                await s.unit.stop()
            self._down(s, reason_of(exc))
            return
        if s.failures:
            s.restarts += 1
            log.info("%s restarted", s.unit.name)
        s.running = True
        s.failures = 0

    async def _check(self, s: Supervised) -> None:
        try:
            reasons = await asyncio.wait_for(s.unit.check(), self.check_timeout_s)
        except (UnitDown, TimeoutError) as exc:
            s.running = False
            with contextlib.suppress(Exception):
                await s.unit.stop()
            self._down(s, reason_of(exc) if isinstance(exc, UnitDown) else "not answering")
            return
        except Exception as exc:  # a check that breaks must not stop the others
            log.error("%s check failed: %s", s.unit.name, type(exc).__name__)
            return
        self._mark(s, reasons)

    async def _visit(self, s: Supervised, busy: bool) -> None:
        if not s.running:
            if busy or asyncio.get_running_loop().time() < s.next_try:
                return
            await self._start(s)
        if s.running and not (busy and s.unit.idle_only):
            await self._check(s)

    async def run_pass(self) -> None:
        """Start what is down and due, check what runs: all units at once."""
        busy = self.busy()
        await asyncio.gather(*(self._visit(s, busy) for s in self.units))
        self.passes += 1
        if self.after_pass is not None:
            self.after_pass()

    async def start(self) -> None:
        """The first pass (every unit started and checked once), then supervision."""
        await self.run_pass()
        self._task = asyncio.create_task(self._supervise(), name="kofu-devices")

    def poke(self) -> None:
        """Check again now (a session just ended, a clerk fixed something)."""
        self._wake.set()

    async def _supervise(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = [s.next_try for s in self.units if not s.running]
            wait = self.poll_s
            if due:
                wait = max(0.0, min(wait, min(due) - loop.time()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)
            self._wake.clear()
            await self.run_pass()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for s in self.units:
            if s.running:
                with contextlib.suppress(Exception):
                    await s.unit.stop()
            s.running = False
