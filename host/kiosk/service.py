"""The kiosk service: drivers from `kiosk.toml`, adapted to the session's ports, under the
screen's `Kiosk` (machine + runner + hub) with a `PortExecutor`.

A `DeviceManager` (`devices.py`) starts one supervised unit per device, polls each one's
readiness while no session is live and restarts a dead driver with backoff; a `HealthBoard`
(`health.py`) keeps per device ok/reason/since. The session is told of each change as
`DeviceHealth` (and reconciled after every polling pass), so it shows out of service with
the unusable parts and comes back by itself. The same board is served on ``GET /health``,
reported to the center and to systemd (`sdnotify.py`).

Each device's unsolicited events are pumped into whichever runner is current (a reset makes
a new one). At the end of every session (the machine's Wipe, back at rest) the card is
released and the center session ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from host.coproc import CoprocDriver
from host.payment.journal import Journal
from host.session import events as E
from host.session.hours import TOKYO
from host.session.machine import SessionMachine
from host.session.ports import EventSource, VoicePort
from host.session.runner import PortExecutor, Ports
from host.session.states import LEFT_BEHIND, RESTING
from host.ui.server import Kiosk

from .card_port import ReaderCard
from .center_client import CenterClient
from .clerk_auth import ClerkAuth
from .clerk_port import ClerkDesk
from .config import KioskConfig
from .coproc_port import CoprocPort
from .devices import Backoff, DeviceManager, Unit
from .health import DeviceStatus, HealthBoard
from .log_setup import quiet_http_clients
from .payment_port import DeskPayment, name_transactions
from .printer_port import KioskPrinters
from .recovery import Recovery, RecoveryOutcome
from .sdnotify import Notifier
from .units import (
    A4PrinterUnit,
    CardReaderUnit,
    CashUnit,
    CenterUnit,
    CoprocUnit,
    ReceiptPrinterUnit,
    voucher_slips,
)
from .voice_port import make_voice

log = logging.getLogger("kofu.kiosk")

# Session over, the kiosk at rest (or reminding of items left behind): nothing of the
# citizen is needed any more. PRINT_FAILED and clerk mode keep the center session for the
# reprint.
SESSION_OVER = RESTING | LEFT_BEHIND


def tokyo_now() -> datetime:
    return datetime.now(TOKYO)


class KioskService:
    def __init__(
        self,
        cfg: KioskConfig,
        clock: Callable[[], datetime] | None = None,
        notifier: Notifier | None = None,
        voice: VoicePort | None = None,
    ) -> None:
        self.cfg = cfg
        quiet_http_clients()  # request lines carry certificate numbers and order ids
        self.clock = clock or tokyo_now
        self.board = HealthBoard(on_change=self._health_changed, clock=self.clock)
        self.notifier = notifier or Notifier()
        # ``voice``: a simulation's recorder (`sim/voice.py`); a kiosk's comes from its config
        self.voice: VoicePort = voice if voice is not None else make_voice(cfg.voice)
        self._tasks: list[asyncio.Task[None]] = []
        self._report_now = asyncio.Event()
        self.kiosk: Kiosk | None = None
        self.card: ReaderCard | None = None
        self.center: CenterClient | None = None
        self.journal: Journal | None = None
        self.payment: DeskPayment | None = None
        self.printers: KioskPrinters | None = None
        self.coproc: CoprocDriver | None = None
        self.clerk_desk: ClerkDesk | None = None
        self.clerk_auth: ClerkAuth | None = None
        self.manager: DeviceManager | None = None
        self.cash: CashUnit | None = None
        self.wipes = 0  # sessions whose card and center session were released

    @property
    def health(self) -> dict[str, bool]:
        """Per device: usable (the sim panel's and the bench's view)."""
        return {d.value: st.ok for d, st in self.board.devices.items()}

    @property
    def desk(self) -> Any:
        return self.cash.desk if self.cash is not None else None

    def health_report(self) -> dict[str, Any]:
        snap = self.board.snapshot()
        snap["state"] = self.kiosk.state.value if self.kiosk else "starting"
        return snap

    async def start(self) -> Kiosk:
        cfg = self.cfg
        cfg.spool_dir.mkdir(parents=True, exist_ok=True)
        self.card = ReaderCard(cfg.card)
        self.center = CenterClient(cfg.center)
        cfg.journal_path.parent.mkdir(parents=True, exist_ok=True)
        self.journal = Journal(cfg.journal_path, clock=self._epoch)
        self.payment = DeskPayment()
        name_transactions(self.center, self.payment)  # order and certificate numbers
        self.payment.watch()
        self.printers = KioskPrinters(cfg.printer, cfg.receipt, clock=self.clock)
        self.coproc = CoprocDriver(cfg.coproc.port)
        coproc_port = CoprocPort(self.coproc)
        # Vouchers come out of the receipt printer as the desk journals them.
        slips = voucher_slips(self.journal, self.printers)
        self.cash = CashUnit(cfg.cash, self.journal, self.payment, slips)
        units: list[Unit] = [
            CardReaderUnit(cfg.card.reader),
            self.cash,
            A4PrinterUnit(cfg.printer.uri),
            ReceiptPrinterUnit(self.printers),
            CoprocUnit(self.coproc),
            CenterUnit(self.center),
        ]
        h = cfg.health
        self.manager = DeviceManager(
            units, self.board, self._busy, poll_s=h.poll_s,
            backoff=Backoff(h.restart_first_s, h.restart_max_s),
        )  # fmt: skip
        self.manager.after_pass = self._reconcile
        since = self.journal.last_seq()  # what the desk's own recovery gives back counts too
        await self.manager.start()
        # Each copy that comes out is journaled with its transaction; the session's language
        # goes with the payment intent (for the notice a recovery shows).
        self.printers.on_copy_printed = self.payment.copy_printed
        self.payment.lang_of = lambda: self.kiosk.runner.machine.data.lang if self.kiosk else "ja"
        recovery = Recovery(self.journal, self.payment, self.center, self.printers)
        recovered = await self._recover(recovery, since)
        coproc_port._up = self.coproc.health.up
        self.clerk_desk = ClerkDesk(
            lambda: self.desk, self.printers, lambda: self.health,
            a4_uri=cfg.printer.uri, journal=Journal(cfg.journal_path, clock=self._epoch),
        )  # fmt: skip
        # Sign-ins and the lockout on the kiosk's clock, journaled on a connection of their own.
        self.clerk_auth = ClerkAuth(
            cfg.clerks, Journal(cfg.journal_path, clock=self._epoch), clock=self._epoch
        )
        ports = Ports(
            self.card, self.center, self.payment, self.printers, coproc_port,
            self.clerk_auth, self.clerk_desk,
        )  # fmt: skip
        self.kiosk = Kiosk(
            self._new_machine,
            PortExecutor(ports),
            voice=self.voice,
            spool_dir=cfg.spool_dir,
            clock=self.clock,
            on_wipe=self._session_over,
        )
        await self.kiosk.start()
        self._tell_recovered(recovered)
        if recovered.waiting:
            self._tasks.append(asyncio.create_task(self._recover_later(recovery)))
        for src in (self.card, self.payment, self.printers, coproc_port):
            self._tasks.append(asyncio.create_task(self._pump(src)))
        self._tasks.append(asyncio.create_task(self._report_health()))
        self.notifier.status(self.board.summary())
        self.notifier.start_watchdog()
        return self.kiosk

    async def _recover(self, recovery: Recovery, since: int) -> RecoveryOutcome:
        """Finish what a host that died left owing, before the first citizen is served."""
        try:
            return await recovery.run(since)
        except Exception as exc:  # a device down mid-recovery: tried again below
            log.warning("recovery incomplete: %s", type(exc).__name__)
            return RecoveryOutcome(waiting=1)

    def _tell_recovered(self, outcome: RecoveryOutcome) -> None:
        if self.kiosk is None:
            return
        if outcome.certificates or outcome.given_back_yen or outcome.reprint:
            self.kiosk.runner.feed(
                E.Recovered(outcome.certificates, outcome.given_back_yen, outcome.reprint,
                            outcome.lang)
            )  # fmt: skip

    async def _recover_later(self, recovery: Recovery, every_s: float = 15.0) -> None:
        """Sessions left waiting (the center or a device was down at start) are finished as
        soon as the kiosk is at rest and they can be."""
        while True:
            await asyncio.sleep(every_s)
            if self._busy():
                continue
            since = self.journal.last_seq() if self.journal is not None else 0
            outcome = await self._recover(recovery, since)
            self._tell_recovered(outcome)
            if not outcome.waiting:
                return

    def _epoch(self) -> float:
        """The kiosk's clock as epoch seconds (the cash journal's stamps)."""
        return self.clock().timestamp()

    def _new_machine(self) -> SessionMachine:
        m = SessionMachine(self.clock(), self.cfg.session)
        m.faults = self.board.faults()  # a fresh machine (start, reset) knows what is down
        m.state = m.rest_state()
        return m

    def _busy(self) -> bool:
        """A citizen (or the clerk) is using the kiosk: no polling, no restarts."""
        return self.kiosk is not None and self.kiosk.state not in RESTING

    def _health_changed(self, device: E.Device, status: DeviceStatus) -> None:
        if self.kiosk is not None:
            self.kiosk.runner.feed(E.DeviceHealth(device, status.ok))
        self.notifier.status(self.board.summary())
        self._report_now.set()

    def _reconcile(self) -> None:
        """Level, not edge: after each pass the session's faults follow the board (a fault
        the session found itself, like a failed print, clears once the device is fine)."""
        if self.kiosk is None or self._busy():
            return  # in a session the table decides; at rest the board does
        machine = self.kiosk.runner.machine
        for device, status in self.board.devices.items():
            if status.ok == (device in machine.faults):
                self.kiosk.runner.feed(E.DeviceHealth(device, status.ok))
        for device in machine.faults - set(self.board.devices):
            self.kiosk.runner.feed(E.DeviceHealth(device, True))

    async def _pump(self, src: EventSource) -> None:
        async for ev in src.events():
            log.debug("device event %s", type(ev).__name__)
            if isinstance(ev, E.DeviceHealth):
                # The board tells the session (once per change) and keeps the reason.
                reason = "link down" if ev.device is E.Device.COPROCESSOR else "gone"
                self.board.report(ev.device, ev.ok, reason)
                continue
            if self.kiosk is not None:
                self.kiosk.runner.feed(ev)

    async def _session_over(self, machine: SessionMachine) -> None:
        """After a Wipe: once the session is really over, free the reader for the next card
        and end the center session (its token, order and certificates forgotten)."""
        if machine.state not in SESSION_OVER:
            return
        if self.card is not None:
            try:
                await self.card.end_session()
            except Exception as exc:
                log.warning("card release failed: %s", type(exc).__name__)
        if self.center is not None:
            await self.center.end_session()
        self.wipes += 1
        if self.manager is not None:
            self.manager.poke()  # readiness before the next citizen

    async def _report_health(self) -> None:
        assert self.center is not None
        while True:
            await self.center.report_health(self.health_report())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._report_now.wait(), self.cfg.health.report_s)
            self._report_now.clear()
            await asyncio.sleep(0.2)  # a burst of changes makes one report

    async def stop(self) -> None:
        self.notifier.stopping()
        await self.notifier.stop()
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        if self.kiosk is not None:
            await self.kiosk.stop()
        if self.manager is not None:
            await self.manager.stop()
        if self.card is not None:
            await self.card.close()
        if self.center is not None:
            await self.center.aclose()
        if self.clerk_desk is not None:
            self.clerk_desk.close()
        if self.clerk_auth is not None:
            self.clerk_auth.close()
        if self.payment is not None:
            self.payment.close()
        if self.printers is not None:
            self.printers.close()
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
