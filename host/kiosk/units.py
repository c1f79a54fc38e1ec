"""The supervised units of the kiosk service, one per device (see `devices.py`).

Each adapts one driver to ``start / check / stop``; the readiness rules themselves are in
`readiness.py`, so `kofu doctor` applies the same ones.
"""

from __future__ import annotations

import asyncio
import contextlib

from drivers.coin.errors import CashDeviceError
from drivers.nfc.errors import ReaderGone
from drivers.nfc.pcsc import PcscReader
from drivers.printer.a4 import IppA4Printer
from drivers.printer.receipt import ReceiptStatus
from host.coproc import CoprocDriver, CoprocError
from host.payment.config import CashConfig
from host.payment.desk import CashDesk
from host.payment.devices import open_devices
from host.payment.journal import Journal
from host.payment.slips import SlipPrinter
from host.session.events import Device

from .center_client import CenterClient
from .daemon_executor import DaemonExecutor
from .devices import UnitDown
from .payment_port import DeskPayment
from .printer_port import KioskPrinters
from .readiness import Reasons, a4_reasons, change_reasons, fee_amounts, receipt_reasons


def reader_reasons(reader: PcscReader) -> Reasons:
    """The PC/SC reader named by the pattern is attached (pcscd lists it)."""
    try:
        names = reader.readers()
    except ReaderGone:
        return {Device.CARD_READER: "pcscd unavailable"}
    if not any(reader.pattern.search(n) for n in names):
        return {Device.CARD_READER: "reader missing"}
    return {}


class CardReaderUnit:
    name = "card_reader"
    devices: tuple[Device, ...] = (Device.CARD_READER,)
    idle_only = False

    def __init__(self, pattern: str) -> None:
        self.reader = PcscReader(pattern)  # a context of its own, only to list readers
        self._pool = DaemonExecutor("kofu-reader-check")

    async def start(self) -> None:
        return None  # the card port opens the reader per session

    async def check(self) -> Reasons:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, reader_reasons, self.reader)

    async def stop(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._pool, self.reader.close)


def cash_reasons(desk: CashDesk) -> Reasons:
    """Money in and change out, from the desk's view of its devices and inventory."""
    cfg = desk.config
    out: Reasons = {}
    acceptor, validator = desk.devices.acceptor, desk.devices.validator
    accepted: set[int] = set()
    if acceptor is not None:
        if acceptor.name in desk.out_of_service:
            out[Device.COIN_ACCEPTOR] = "out of service"
        else:
            accepted |= set(cfg.coins)
    if validator is not None:
        if validator.name in desk.out_of_service:
            out[Device.BILL_VALIDATOR] = "out of service"
        else:
            accepted |= set(cfg.bills)
    down = sorted(h.name for h in desk.devices.hoppers if h.name in desk.out_of_service)
    change = change_reasons(desk.available(), accepted, fee_amounts(cfg.fees))
    if down and change:
        change = {Device.CHANGE: f"{','.join(down)} out of service"}
    out.update(change)
    return out


def voucher_slips(journal: Journal, printers: KioskPrinters) -> SlipPrinter:
    """The cash desk's slips on the kiosk's receipt printer: each voucher is printed as it is
    journaled, with the journal's number (the one the clerk redeems and `kofu cash reprint`
    prints again). The session's own IssueVoucher then prints nothing more: a second slip
    without a journal record would be money owed twice."""
    printers.vouchers_from_journal = True
    return SlipPrinter(
        journal, printers.receipt, kiosk_id=printers.kiosk_id, municipality=printers.municipality
    )


class CashUnit:
    """The coin acceptor, bill validator and hoppers behind one `CashDesk`. A port that
    stops answering (a USB-serial adapter unplugged) takes the desk down; the restart opens
    the ports again and runs the journal's recovery. The desk is only touched while no
    payment holds it (``DeskPayment.lock``)."""

    name = "cash"
    devices: tuple[Device, ...] = (Device.COIN_ACCEPTOR, Device.BILL_VALIDATOR, Device.CHANGE)
    idle_only = True

    def __init__(
        self,
        cfg: CashConfig,
        journal: Journal,
        payment: DeskPayment,
        slips: SlipPrinter | None = None,
    ) -> None:
        self.cfg = cfg
        self.journal = journal
        self.payment = payment
        # The receipt printer: every voucher the desk owes (short change, short refund,
        # recovery) is printed as it is journaled, or journaled as unprinted for the clerk.
        self.slips = slips
        self.desk: CashDesk | None = None
        self._last: Reasons = {}

    def _open(self) -> CashDesk:
        devices = open_devices(self.cfg)
        try:
            desk = CashDesk(self.journal, devices, self.cfg, slips=self.slips)
            desk.start()
        except BaseException:
            devices.close()
            raise
        return desk

    async def start(self) -> None:
        desk = await asyncio.to_thread(self._open)
        self.desk = desk
        self.payment.attach(desk)

    def _probe(self, desk: CashDesk) -> Reasons:
        if not self.payment.lock.acquire(blocking=False):
            return self._last  # a payment or refund holds the desk: keep the last answer
        try:
            desk.poll()  # money that arrives while idle is journaled (and refunded later)
            for device in (desk.devices.acceptor, desk.devices.validator):
                if device is None or device.name in desk.unstarted:
                    continue
                try:
                    device.set_enabled(frozenset())  # idle: inhibited, and it answers
                except (CashDeviceError, OSError):
                    raise UnitDown(f"{device.name} not answering") from None
            desk.check_hoppers()
            self._last = cash_reasons(desk)
            return self._last
        except UnitDown:
            raise
        except Exception as exc:
            # A vanished port fails below the drivers' own errors (termios, select...).
            raise UnitDown(f"port lost: {type(exc).__name__}") from None
        finally:
            self.payment.lock.release()

    async def check(self) -> Reasons:
        desk = self.desk
        if desk is None:
            raise UnitDown("not started")
        return await asyncio.to_thread(self._probe, desk)

    async def stop(self) -> None:
        desk, self.desk = self.desk, None
        if desk is not None:
            self.payment.detach(desk)
            await asyncio.to_thread(self._close, desk)

    def _close(self, desk: CashDesk) -> None:
        # Not under a poll of the payment's watcher; a stuck holder does not keep it open.
        held = self.payment.lock.acquire(timeout=5)
        try:
            desk.devices.close()
        finally:
            if held:
                self.payment.lock.release()


class A4PrinterUnit:
    """IPP printer-state and printer-state-reasons, on a client of its own (the print
    path's client stays free for jobs)."""

    name = "a4_printer"
    devices: tuple[Device, ...] = (Device.PRINTER, Device.PAPER)
    idle_only = True

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.printer: IppA4Printer | None = None

    async def start(self) -> None:
        self.printer = IppA4Printer(self.uri)

    async def check(self) -> Reasons:
        printer = self.printer
        if printer is None:
            raise UnitDown("not started")
        return a4_reasons(await asyncio.to_thread(printer.condition))

    async def stop(self) -> None:
        printer, self.printer = self.printer, None
        if printer is not None:
            printer.close()


class ReceiptPrinterUnit:
    """ESC/POS real-time status (online, paper) through the print path's own connection,
    on its worker thread, so a status query never interleaves with a slip."""

    name = "receipt_printer"
    devices: tuple[Device, ...] = (Device.RECEIPT_PRINTER,)
    idle_only = True

    def __init__(self, printers: KioskPrinters) -> None:
        self.printers = printers

    async def start(self) -> None:
        return None

    async def check(self) -> Reasons:
        status = await self.printers._run(self.printers.receipt.status)
        assert isinstance(status, ReceiptStatus)
        return receipt_reasons(status)

    async def stop(self) -> None:
        return None


class CoprocUnit:
    """The framed link: the driver reopens a lost port by itself; the unit restarts the
    driver only if its tasks died."""

    name = "coprocessor"
    devices: tuple[Device, ...] = (Device.COPROCESSOR,)
    idle_only = False

    def __init__(self, driver: CoprocDriver, up_timeout_s: float = 10.0) -> None:
        self.driver = driver
        self.up_timeout_s = up_timeout_s

    async def start(self) -> None:
        await self.driver.start()
        with contextlib.suppress(CoprocError, TimeoutError):
            await self.driver.wait_up(timeout=self.up_timeout_s)

    async def check(self) -> Reasons:
        if any(t.done() for t in self.driver._tasks):
            raise UnitDown("link driver stopped")
        h = self.driver.health
        if h.up:
            return {}
        return {Device.COPROCESSOR: (h.refused or h.reason or "link down")[:60]}

    async def stop(self) -> None:
        await self.driver.stop()


class CenterUnit:
    name = "center"
    devices: tuple[Device, ...] = (Device.CENTER,)
    idle_only = False

    def __init__(self, client: CenterClient) -> None:
        self.client = client

    async def start(self) -> None:
        return None

    async def check(self) -> Reasons:
        return {} if await self.client.healthy() else {Device.CENTER: "unreachable"}

    async def stop(self) -> None:
        return None
