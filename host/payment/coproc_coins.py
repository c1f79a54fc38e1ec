"""Coins from the coprocessor's pulse acceptor: a ``CoinEventSource`` over ``CoprocDriver``.

Wiring for a kiosk configured with ``[cash] coin_acceptor = "pulse"``::

    coproc = CoprocDriver(port)
    source = CoprocCoinSource(coproc, journal)   # subscribes now: create it before start()
    await coproc.start()
    devices = open_pulse_devices(cfg, source)    # = open_devices(cfg, source) + bind
    coins = asyncio.create_task(devices.acceptor.run())
    desk = CashDesk(journal, devices, cfg)       # its calls may run in a worker thread

Why the pieces are here:
- The coprocessor numbers coin events per boot. The boot id is journaled, so a host that
  restarts after the board rebooted knows the counter started again (otherwise the old
  boot's last counter would swallow the new boot's first coins).
- Rejected pulse trains share the counter; they are passed on as value 0 so no gap is seen.
- The desk sets the inhibit synchronously, possibly from another thread; the board is told
  from the event loop, retried until acknowledged, and told again after every new link
  session (the firmware inhibits coins by itself while the link is down).
- A lost link puts the acceptor out of service for the desk (a journaled fault, so the
  screen stops asking for coins the board refuses); the next session brings it back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from drivers.coin.interfaces import CashEvent, DeviceReady, Fault
from drivers.coin.pulse_acceptor import REJECTED, PulseCoinAcceptor
from host.coproc.driver import CoprocDriver, CoprocError
from host.coproc.messages import CoinInserted, CoinRejected, LinkStatus, StatusReport
from host.payment.config import CashConfig, ConfigError
from host.payment.devices import CashDevices, open_devices
from host.payment.journal import Journal

log = logging.getLogger(__name__)

BOOT_EVENT = "coprocessor boot"


class CoprocCoinSource:
    def __init__(
        self,
        driver: CoprocDriver,
        journal: Journal | None = None,
        *,
        device: str = "pulse",
        retry_s: float = 0.2,
    ) -> None:
        self._driver = driver
        self._journal = journal
        self._device = device
        self._retry_s = retry_s
        # Subscribing now means no event is missed between the link coming up and events().
        self._queue = driver.subscribe()
        known = journal.last_event_detail(device, BOOT_EVENT, "boot_id") if journal else None
        self.boot_id: int | None = None if known is None else int(known)
        self._acceptor: PulseCoinAcceptor | None = None
        self._reboot_pending = False
        self._link_lost = False
        self._want = True  # inhibited until the desk asks for coins: the safe default
        self.applied: bool | None = None  # what the board last confirmed (None: unknown)
        self.reboots = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    def bind(self, acceptor: PulseCoinAcceptor) -> None:
        """The acceptor told of a coprocessor reboot (its counter restarts)."""
        self._acceptor = acceptor
        if self._reboot_pending:
            self._reboot_pending = False
            acceptor.coprocessor_rebooted()

    @property
    def wanted_inhibit(self) -> bool:
        return self._want

    # -- CoinEventSource ----------------------------------------------------------------
    def set_inhibit(self, inhibited: bool) -> None:
        """Thread-safe; returns at once. The board is told from the event loop."""
        self._want = inhibited
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._kick)

    async def events(self) -> AsyncIterator[tuple[int, int]]:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._wake.set()
        worker = asyncio.create_task(self._inhibit_worker(), name="coproc-coin-inhibit")
        if self._driver.health.up and self.boot_id is None:
            # Up before we ran, with no boot on record: ask which boot this is.
            self._request_status()
        try:
            while True:
                event = await self._queue.get()
                if isinstance(event, StatusReport):
                    self._on_boot(event.boot_id)
                    self.applied = event.coin_inhibited
                    if self._link_lost:
                        self._link_lost = False
                        self._report(DeviceReady(self._device))
                    self._kick()
                elif isinstance(event, LinkStatus):
                    # Down: the firmware's safe state inhibits coins; up: a new session
                    # reports its status first, and we set the inhibit again from that.
                    if not event.up:
                        self.applied = None
                        if event.reason and event.reason != "starting" and not self._link_lost:
                            self._link_lost = True
                            self._report(
                                Fault(self._device, f"coprocessor link down: {event.reason}", True)
                            )
                    self._kick()
                elif isinstance(event, CoinInserted):
                    yield event.value_yen, event.counter
                elif isinstance(event, CoinRejected):
                    yield REJECTED, event.counter
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
            self._driver.unsubscribe(self._queue)

    # -- internals ----------------------------------------------------------------------
    def _kick(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def _report(self, event: CashEvent) -> None:
        if self._acceptor is not None:
            self._acceptor.report(event)

    def _request_status(self) -> None:
        async def ask() -> None:
            with contextlib.suppress(CoprocError):
                await self._driver.request_status()

        asyncio.get_running_loop().create_task(ask())

    def _on_boot(self, boot_id: int) -> None:
        if boot_id == self.boot_id:
            return
        if self.boot_id is not None:
            self.reboots += 1
            log.info("coprocessor rebooted: its coin counter starts again")
            if self._acceptor is not None:
                self._acceptor.coprocessor_rebooted()
            else:
                self._reboot_pending = True
        self.boot_id = boot_id
        if self._journal is not None:
            self._journal.append(
                "device_event", device=self._device, event=BOOT_EVENT, boot_id=boot_id
            )

    async def _inhibit_worker(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            want = self._want
            if want == self.applied or not self._driver.health.up:
                continue  # done, or done again when the link is back (LinkStatus kicks)
            try:
                await self._driver.set_coin_inhibit(want)
                self.applied = want
            except CoprocError as exc:  # not delivered, or the link went down meanwhile
                log.warning("coin inhibit not delivered (%s); retrying", exc)
                await asyncio.sleep(self._retry_s)
                self._wake.set()
            if self._want != want:
                self._wake.set()


def open_pulse_devices(cfg: CashConfig, source: CoprocCoinSource) -> CashDevices:
    """``open_devices`` for ``coin_acceptor = "pulse"``, with the acceptor bound to the source."""
    if cfg.coin_acceptor != "pulse":
        raise ConfigError("open_pulse_devices needs [cash] coin_acceptor = 'pulse'")
    devices = open_devices(cfg, source)
    assert isinstance(devices.acceptor, PulseCoinAcceptor)
    source.bind(devices.acceptor)
    return devices
