"""The session's ClerkDeskPort: clerk mode over the cash desk and its journal, the printers
and the service's device-health map.

Everything that moves money or coins is journaled before the call returns, so the screen
only moves on once it is durable: a power cut before the write loses nothing (the screen
still shows the figures, the clerk confirms again), one after the write cannot double it
(the collection names the journal seq it covers, and a second one for it is refused).
Blocking work (SQLite, IPP, ESC/POS) runs on a worker thread of its own.

Who did it: refills and collections carry the signed-in clerk's id in their own journal
entry, and every clerk operation and sign-out is an entry of kind ``clerk`` (`audit`, from
the session's ``ClerkAudit``); sign-ins are journaled by `clerk_auth.ClerkAuth`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any, TypeVar

from drivers.printer.a4 import IppA4Printer
from drivers.printer.receipt import ReceiptPrinterError
from drivers.printer.receipt_layout import ReportSlip
from drivers.printer.states import PrinterState, PrinterWarning
from host import i18n
from host.payment.desk import CashDesk, PaymentError
from host.payment.journal import AlreadyCollected, Journal
from host.payment.report import build_day_report, cash_box, tokyo_today
from host.session import events as E
from host.session.actions import Record
from host.session.ports import ClerkError

from .printer_port import KioskPrinters, municipality_of

log = logging.getLogger("kofu.kiosk.clerk")
T = TypeVar("T")

# Record fields that are journal columns or would clash with them get their own names.
_RENAMED = {"kind": "certificate", "tx": "session_tx", "amount": "yen", "counter": "n"}
_AUDIT_RENAMED = {**_RENAMED, "device": "device_name", "event": "what", "clerk": "clerk_field"}


class ClerkDesk:
    def __init__(
        self,
        desk: CashDesk | Callable[[], CashDesk | None],
        printers: KioskPrinters | None,
        health: Mapping[str, bool] | Callable[[], Mapping[str, bool]],
        *,
        a4_uri: str | None = None,
        kiosk_id: str = "kofu-kiosk",
        clock: Callable[[], float] | None = None,
        journal: Journal | None = None,
    ) -> None:
        # The service's device manager may replace the desk (a restart after a lost port)
        # and rebuilds its health view: both are read afresh at each use.
        self._desk = desk
        self.printers = printers
        self._health = health
        self.kiosk_id = kiosk_id
        # Its own connection: a collection's check-and-write is one transaction of its own.
        if journal is None:
            assert isinstance(desk, CashDesk), "give the journal when the desk comes later"
            journal = Journal(desk.journal.path)
        self.journal = journal
        # "today" of the daily report is the kiosk's day: the clock the journal is written by
        self.clock = clock or journal.now
        self._a4 = IppA4Printer(a4_uri) if a4_uri else None
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="kofu-clerk")

    @property
    def desk(self) -> CashDesk:
        desk = self._desk() if callable(self._desk) else self._desk
        if desk is None:
            raise ClerkError("cash_desk_unavailable")
        return desk

    @property
    def health(self) -> Mapping[str, bool]:
        return self._health() if callable(self._health) else self._health

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    # --- status ---------------------------------------------------------------------------

    async def status(self) -> Mapping[str, object]:
        return await self._run(self.read_status)

    def read_status(self) -> dict[str, Any]:
        box = cash_box(self.journal)
        last = self.journal.last_collection_through()
        return {
            "devices": self._devices(),
            "hoppers": self._hoppers(),
            "cashbox": {
                "coins": {str(v): n for v, n in sorted(box.coins.items())},
                "total": box.coins_yen,
            },
            "stacker": {
                "bills": {str(v): n for v, n in sorted(box.bills.items())},
                "total": box.bills_yen,
            },
            "collect_through": box.through,
            "collected_before": last is not None,
        }

    def _devices(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []

        def add(device: E.Device, ok: bool, reason: str = "") -> None:
            out.append({"device": device.value, "ok": ok, "reason": "" if ok else reason})

        if self._a4 is not None:
            cond = self._a4.condition()
            paper_out = cond.state is PrinterState.PAPER_OUT
            add(E.Device.PRINTER, cond.state.can_print or paper_out, cond.state.value)
            low = PrinterWarning.PAPER_LOW in cond.warnings
            out.append(
                {
                    "device": E.Device.PAPER.value,
                    "ok": not paper_out,
                    "reason": "paper_out" if paper_out else ("paper_low" if low else ""),
                }
            )
        if self.printers is not None:
            st = self.printers.receipt.status()
            add(E.Device.RECEIPT_PRINTER, st.can_print, st.value)
        add(E.Device.CARD_READER, self.health.get(E.Device.CARD_READER.value, True), "offline")
        try:
            desk = self.desk
        except ClerkError:
            for device in (E.Device.COIN_ACCEPTOR, E.Device.BILL_VALIDATOR, E.Device.CHANGE):
                add(device, False, "not_started")
            for device in (E.Device.COPROCESSOR, E.Device.CENTER):
                add(device, self.health.get(device.value, True), "unreachable")
            return out
        devices = desk.devices
        for device, driver in (
            (E.Device.COIN_ACCEPTOR, devices.acceptor),
            (E.Device.BILL_VALIDATOR, devices.validator),
        ):
            if driver is None:
                add(device, False, "not_configured")
            elif driver.name in self.desk.unstarted:
                add(device, False, "not_started")
            else:
                add(device, driver.name not in self.desk.out_of_service, "out_of_service")
        add(E.Device.CHANGE, any(self.desk.available().values()), "no_change")
        for device in (E.Device.COPROCESSOR, E.Device.CENTER):
            add(device, self.health.get(device.value, True), "unreachable")
        return out

    def _hoppers(self) -> list[dict[str, Any]]:
        cfg = self.desk.config
        out = []
        for hopper in self.desk.devices.hoppers:
            coins = self.desk.inventory.get(hopper.name, 0)
            if coins <= cfg.change_margin:
                level = "empty"
            elif coins <= cfg.hopper_low:
                level = "low"
            else:
                level = "ok"
            out.append(
                {
                    "name": hopper.name,
                    "value": hopper.value,
                    "coins": coins,
                    "capacity": cfg.hopper_capacity,
                    "level": level,
                    "in_service": hopper.name not in self.desk.out_of_service,
                }
            )
        return out

    # --- refill and collection ------------------------------------------------------------

    async def refill(self, hopper: str, coins: int, clerk: str = "") -> Mapping[str, object]:
        return await self._run(self.do_refill, hopper, coins, clerk)

    def do_refill(self, hopper: str, coins: int, clerk: str = "") -> dict[str, Any]:
        found = next((h for h in self.desk.devices.hoppers if h.name == hopper), None)
        if found is None:
            raise ClerkError("refill_hopper")
        if coins <= 0:
            raise ClerkError("refill_count")
        if self.desk.inventory.get(hopper, 0) + coins > self.desk.config.hopper_capacity:
            raise ClerkError("refill_over_capacity")
        try:
            self.desk.refill(hopper, coins, clerk=clerk)  # journaled, then counted
        except PaymentError:
            raise ClerkError("refill_hopper") from None
        log.info("refill %s coins=%d", hopper, coins)
        return {"hopper": hopper, "coins": coins, "yen": coins * found.value}

    async def collect(self, through_seq: int, clerk: str = "") -> Mapping[str, object]:
        return await self._run(self.do_collect, through_seq, clerk)

    def do_collect(self, through_seq: int, clerk: str = "") -> dict[str, Any]:
        if through_seq > self.journal.last_seq():
            raise ClerkError("collect_changed")
        box = cash_box(self.journal, through_seq)
        last = self.journal.last_collection_through()
        if last is not None and last >= through_seq:
            raise ClerkError("collect_already_done")
        if box.total == 0:
            raise ClerkError("nothing_to_collect")
        try:
            self.journal.append_collection(
                through_seq,
                box.total,
                coins={str(v): n for v, n in box.coins.items()},
                bills={str(v): n for v, n in box.bills.items()},
                **({"clerk": clerk} if clerk else {}),
            )
        except AlreadyCollected:
            raise ClerkError("collect_already_done") from None
        log.info("collection yen=%d through=%d", box.total, through_seq)
        return {"yen": box.total, "coins_yen": box.coins_yen, "bills_yen": box.bills_yen}

    # --- daily report ---------------------------------------------------------------------

    def _day(self, day: str) -> date:
        if not day:
            return tokyo_today(self.clock())
        try:
            return date.fromisoformat(day)
        except ValueError:
            raise ClerkError("report_day") from None

    async def report(self, day: str) -> Mapping[str, object]:
        return await self._run(self.build_report, day)

    def build_report(self, day: str) -> dict[str, Any]:
        return build_day_report(self.journal, self._day(day))

    async def print_report(self, day: str) -> None:
        await self._run(self.do_print_report, day)

    def do_print_report(self, day: str) -> None:
        if self.printers is None:
            raise ClerkError("report_print_failed")
        slip = report_slip(self.build_report(day), self.kiosk_id)
        try:
            self.printers.receipt.print_report(slip)
        except ReceiptPrinterError as exc:
            log.warning("daily report not printed: %s", exc.status.value)
            raise ClerkError("report_print_failed") from None

    # --- session facts --------------------------------------------------------------------

    async def record(self, record: Record) -> None:
        await self._run(self.do_record, record)

    def do_record(self, record: Record) -> None:
        fields = dict(record.fields)
        device = fields.pop("device", None)
        detail: dict[str, Any] = {_RENAMED.get(k, k): v for k, v in fields.items()}
        if record.event == "issued":
            detail["municipality"] = municipality_of(record.documents)
        self.journal.append(
            "session",
            device=None if device is None else str(device),
            event=record.event,
            **detail,
        )

    # --- audit ----------------------------------------------------------------------------

    async def audit(self, event: str, clerk: str, fields: Mapping[str, str | int]) -> None:
        await self._run(self.do_audit, event, clerk, fields)

    def do_audit(self, event: str, clerk: str, fields: Mapping[str, str | int]) -> None:
        detail: dict[str, Any] = {_AUDIT_RENAMED.get(k, k): v for k, v in fields.items()}
        self.journal.append("clerk", event=event, clerk=clerk, **detail)
        log.info("clerk %s %s %s", clerk or "-", event, fields.get("op", ""))

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        if self._a4 is not None:
            self._a4.close()
        self.journal.close()


def report_slip(report: Mapping[str, Any], kiosk_id: str, lang: str = "ja") -> ReportSlip:
    """The daily report as receipt-printer rows, every text from the catalogs."""

    def t(key: str, **params: object) -> str:
        return i18n.text(lang, key, **params)

    def label(prefix: str, code: str) -> str:
        key = f"{prefix}.{code}"
        return t(key) if key in i18n.catalog(lang) else code

    def yen(n: object) -> str:
        return t("report.yen", yen=f"{int(str(n)):,}")

    rows: list[tuple[str, str]] = [(t("report.sessions"), "")]
    for key, n in report["sessions"].items():
        rows.append((t(f"report.{key}"), str(n)))
    rows.append((t("report.reprints"), str(report["reprints"])))
    rows.append((t("report.certificates"), ""))
    for kind, n in sorted(report["certificates"].items()):
        rows.append((label("cert", kind), t("report.copies", n=n)))
    rows.append((t("report.fees"), ""))
    for municipality, amount in sorted(report["fees_by_municipality"].items()):
        rows.append((municipality, yen(amount)))
    rows.append((t("report.fees_total"), yen(report["fees_yen"])))
    rows.append((t("report.cash"), ""))
    refunds, vouchers = report["refunds"], report["vouchers"]
    rows.append((t("report.refunds"), t("report.count_yen", n=refunds["count"],
                                         yen=f"{refunds['yen']:,}")))  # fmt: skip
    rows.append((t("report.vouchers_issued"), t("report.count_yen", n=vouchers["issued"],
                                                 yen=f"{vouchers['issued_yen']:,}")))  # fmt: skip
    rows.append((t("report.vouchers_outstanding"), t("report.count_yen",
                 n=vouchers["outstanding"], yen=f"{vouchers['outstanding_yen']:,}")))  # fmt: skip
    unprinted = vouchers.get("unprinted", [])
    if unprinted:  # an open item: the books do not balance while a citizen holds no slip
        rows.append((t("report.vouchers_unprinted"), t("report.count_yen", n=len(unprinted),
                     yen=f"{sum(v['amount'] for v in unprinted):,}")))  # fmt: skip
        rows += [(str(v["voucher"]), yen(v["amount"])) for v in unprinted]
    for hopper, r in sorted(report["refills"].items()):
        rows.append((t("report.refill", hopper=hopper), t("report.coins", n=r["coins"])))
    for i, c in enumerate(report["collections"], 1):
        rows.append((t("report.collection", n=i), yen(c["yen"])))
    rows.append((t("report.faults"), ""))
    for device, n in sorted(report["device_faults"].items()):
        rows.append((label("device", device), str(n)))
    if not report["device_faults"]:
        rows.append((t("report.none"), "-"))
    return ReportSlip(
        title=t("report.title"),
        heading=(t("report.day", day=report["day"]), t("report.kiosk", kiosk=kiosk_id)),
        rows=tuple(rows),
    )
