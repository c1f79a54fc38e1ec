"""The kiosk service: drivers from `kiosk.toml`, adapted to the session's ports, under the
screen's `Kiosk` (machine + runner + hub) with a `PortExecutor`.

Each device's unsolicited events are pumped into whichever runner is current (a reset makes
a new one). A device that cannot start is reported unhealthy, so the session shows out of
service instead of the kiosk failing to start; `health()` says which part is not usable.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from host.coproc import CoprocDriver, CoprocError
from host.payment.desk import CashDesk
from host.payment.devices import open_devices
from host.payment.journal import Journal
from host.session import events as E
from host.session.hours import TOKYO
from host.session.machine import SessionMachine
from host.session.pin import Pin
from host.session.ports import EventSource
from host.session.runner import PortExecutor, Ports
from host.ui.server import Kiosk

from .card_port import ReaderCard
from .center_client import CenterClient
from .clerk_port import ClerkDesk
from .config import KioskConfig
from .coproc_port import CoprocPort
from .payment_port import DeskPayment
from .printer_port import KioskPrinters

log = logging.getLogger("kofu.kiosk")


class ClerkPin:
    """ClerkAuthPort: the clerk PIN's SHA-256 from kiosk.toml (never the digits)."""

    def __init__(self, sha256_hex: str) -> None:
        self.expected = sha256_hex.lower()

    async def check(self, pin: Pin) -> bool:
        if not self.expected:
            return False
        digest = hashlib.sha256(pin.reveal()).hexdigest()
        return hmac.compare_digest(digest, self.expected)


def tokyo_now() -> datetime:
    return datetime.now(TOKYO)


class KioskService:
    def __init__(self, cfg: KioskConfig, clock: Callable[[], datetime] | None = None) -> None:
        self.cfg = cfg
        self.clock = clock or tokyo_now
        self.health: dict[str, bool] = {}
        self._pumps: list[asyncio.Task[None]] = []
        self.kiosk: Kiosk | None = None
        self.card: ReaderCard | None = None
        self.center: CenterClient | None = None
        self.desk: CashDesk | None = None
        self.journal: Journal | None = None
        self.payment: DeskPayment | None = None
        self.printers: KioskPrinters | None = None
        self.coproc: CoprocDriver | None = None
        self.clerk_desk: ClerkDesk | None = None

    async def start(self) -> Kiosk:
        cfg = self.cfg
        cfg.spool_dir.mkdir(parents=True, exist_ok=True)
        self.card = ReaderCard(cfg.card)
        self.center = CenterClient(cfg.center)
        self.journal = Journal(cfg.spool_dir.parent / "cash-journal.db")
        self.desk = CashDesk(self.journal, open_devices(cfg.cash), cfg.cash)
        await asyncio.to_thread(self.desk.start)
        self.payment = DeskPayment(self.desk)
        self.printers = KioskPrinters(cfg.printer, cfg.receipt)
        self.coproc = CoprocDriver(cfg.coproc.port)
        await self.coproc.start()
        coproc_port = CoprocPort(self.coproc)
        try:
            await self.coproc.wait_up(timeout=10)
            coproc_port._up = True
        except CoprocError as exc:
            log.warning("coprocessor link not up at start: %s", type(exc).__name__)
        self.clerk_desk = ClerkDesk(self.desk, self.printers, self.health, a4_uri=cfg.printer.uri)
        ports = Ports(
            self.card, self.center, self.payment, self.printers, coproc_port,
            ClerkPin(cfg.clerk_pin_sha256), self.clerk_desk,
        )  # fmt: skip
        self.kiosk = Kiosk(
            lambda: SessionMachine(self.clock(), cfg.session),
            PortExecutor(ports),
            spool_dir=cfg.spool_dir,
            clock=self.clock,
        )
        await self.kiosk.start()
        for src in (self.card, self.payment, self.printers, coproc_port):
            self._pumps.append(asyncio.create_task(self._pump(src)))
        self._pumps.append(asyncio.create_task(self._watch_center()))
        return self.kiosk

    async def _pump(self, src: EventSource) -> None:
        async for ev in src.events():
            log.debug("device event %s", type(ev).__name__)
            if isinstance(ev, E.DeviceHealth):
                self.health[ev.device.value] = ev.ok
            if self.kiosk is not None:
                self.kiosk.runner.feed(ev)

    async def _watch_center(self, every_s: float = 5.0) -> None:
        assert self.center is not None
        while True:
            ok = await self.center.healthy()
            if self.health.get("center") != ok:
                self.health["center"] = ok
                if self.kiosk is not None:
                    self.kiosk.runner.feed(E.DeviceHealth(E.Device.CENTER, ok))
            await asyncio.sleep(every_s)

    async def stop(self) -> None:
        for t in self._pumps:
            t.cancel()
        for t in self._pumps:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        if self.kiosk is not None:
            await self.kiosk.stop()
        if self.card is not None:
            await self.card.close()
        if self.center is not None:
            await self.center.aclose()
        if self.clerk_desk is not None:
            self.clerk_desk.close()
        if self.payment is not None:
            self.payment.close()
        if self.printers is not None:
            self.printers.close()
        if self.coproc is not None:
            await self.coproc.stop()
        if self.desk is not None:
            self.desk.devices.close()
        if self.journal is not None:
            self.journal.close()

    async def __aenter__(self) -> KioskService:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


@contextlib.asynccontextmanager
async def running(cfg: KioskConfig, **kw: Any) -> AsyncIterator[KioskService]:
    service = KioskService(cfg, **kw)
    try:
        await service.start()
        yield service
    finally:
        await service.stop()


def spool_of(cfg: KioskConfig) -> Path:
    return cfg.spool_dir
