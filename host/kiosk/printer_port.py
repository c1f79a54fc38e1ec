"""The session's PrinterPort: the A4 certificate printer (IPP) and the receipt printer
(ESC/POS), both blocking drivers run on worker threads.

Each issued document arrives as the center's certificate record (see `center_client`); the
PDF is rendered here, spooled only in memory (the spool dir stays empty of personal data
unless a driver needs a file), and printed one job per copy.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from zoneinfo import ZoneInfo

from pypdf import PdfReader

from documents.model import CertificateDocument
from documents.render import certificate as render
from drivers.printer import receipt as esc
from drivers.printer.a4 import IppA4Printer, PrintRefused
from drivers.printer.copies import CopyTally
from drivers.printer.ipp_core import JobState
from drivers.printer.receipt_layout import Receipt as ReceiptSlip
from drivers.printer.receipt_layout import ReceiptLine, RefundVoucher, ReportSlip
from host.session import events as E
from host.session.actions import Receipt
from host.session.ports import PrintError

from .config import PrinterConfig, ReceiptConfig

log = logging.getLogger("kofu.kiosk.printer")
TOKYO = ZoneInfo("Asia/Tokyo")


def render_issued(doc: E.IssuedDocument) -> tuple[bytes, int]:
    """PDF bytes and sheet count (duplex) of one issued certificate record."""
    view = json.loads(doc.payload)
    model = CertificateDocument.from_dict(view["document"])
    seal = view.get("seal_image_png_b64")
    pdf = render.render_pdf(
        model,
        base64.b64decode(view["payload_b64"]),
        base64.b64decode(seal) if seal else None,
    )
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    return pdf, (pages + 1) // 2


def municipality_of(documents: tuple[E.IssuedDocument, ...]) -> str:
    """The issuing municipality's name from the center's record (not personal data)."""
    for doc in documents:
        try:
            name = json.loads(doc.payload)["document"]["issuer"]["name"]
        except (ValueError, KeyError, TypeError):
            continue
        if isinstance(name, str) and name:
            return name
    return "unknown"


def _tokyo_now() -> datetime:
    return datetime.now(TOKYO)


class SharedReceiptPrinter:
    """The one ESC/POS connection, shared by the print path (receipts, status), the clerk
    (daily report) and the cash desk (vouchers, from its own thread): a lock keeps one slip
    or status query on the wire at a time, so two never interleave their bytes."""

    def __init__(self, printer: esc.EscposReceiptPrinter) -> None:
        self._printer = printer
        self._lock = threading.Lock()

    def status(self) -> esc.ReceiptStatus:
        with self._lock:
            return self._printer.status()

    def print_receipt(self, receipt: ReceiptSlip) -> None:
        with self._lock:
            self._printer.print_receipt(receipt)

    def print_voucher(self, voucher: RefundVoucher) -> None:
        with self._lock:
            self._printer.print_voucher(voucher)

    def print_report(self, slip: ReportSlip) -> None:
        with self._lock:
            self._printer.print_report(slip)

    def close(self) -> None:
        with self._lock:
            self._printer.close()


class KioskPrinters:
    """PrinterPort. ``events()``: PrintProgress while printing."""

    def __init__(
        self,
        a4: PrinterConfig,
        receipt: ReceiptConfig,
        kiosk_id: str = "kofu-kiosk",
        clock: Callable[[], datetime] = _tokyo_now,
    ) -> None:
        self.a4 = IppA4Printer(a4.uri)
        self.clock = clock  # the kiosk's clock: a slip shows the time the session saw
        self.receipt = SharedReceiptPrinter(esc.EscposReceiptPrinter(dict(receipt.settings)))
        # Set when the cash desk prints its own vouchers from the journal (the kiosk service
        # wires it so): the session's IssueVoucher then prints nothing more, since a second
        # slip without a journal record would be money owed twice.
        self.vouchers_from_journal = False
        self.kiosk_id = kiosk_id
        # The receipt names the municipality that issued what it is a receipt for (a kiosk
        # serves residents of several); vouchers without a certificate name the kiosk's own.
        self.municipality = "桜ヶ丘市"
        self._issuer: dict[str, str] = {}  # certificate number -> issuing municipality
        # Told each certificate number whose copy came out (its job completed), from the
        # print thread: the cash journal keeps it, so a restarted host knows what was printed.
        self.on_copy_printed: Callable[[str], None] | None = None
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="kofu-print")
        self._events: asyncio.Queue[E.Event] = asyncio.Queue()

    async def _run(self, fn: object, *args: object) -> object:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, fn, *args)  # type: ignore[arg-type]

    def _print_all(self, docs: tuple[E.IssuedDocument, ...], loop: asyncio.AbstractEventLoop
                   ) -> None:  # fmt: skip
        rendered = [render_issued(d) for d in docs]
        for d in docs:
            self._issuer[d.certificate_number] = municipality_of((d,))
        total = sum(sheets for _, sheets in rendered)
        # Which copies came out, each from its own job: a fault part-way reports those as
        # printed and only the rest as failed (the clerk reprints only what is missing).
        tally = CopyTally(tuple(d.certificate_number for d in docs))
        done = 0
        for doc, (pdf, sheets) in zip(docs, rendered, strict=True):
            base = done

            def progress(n: int, base: int = base) -> None:
                loop.call_soon_threadsafe(self._events.put_nowait, E.PrintProgress(base + n, total))

            try:
                outcome = self.a4.print_certificate(
                    pdf, doc.certificate_number, sheets, on_progress=progress
                )
            except PrintRefused as exc:
                reason = _reason(exc.condition.reasons) or "not-ready"
                raise PrintError(reason, tally.printed) from None
            except Exception as exc:  # printer unreachable, IPP errors
                raise PrintError(f"offline:{type(exc).__name__}", tally.printed) from None
            tally.record(outcome)
            if outcome.completed and self.on_copy_printed is not None:
                self.on_copy_printed(doc.certificate_number)
            if not outcome.completed:
                log.warning(
                    "print stopped at sheet %d of %d of copy %d of %d: %s",
                    outcome.sheets_done, outcome.sheets_total,
                    len(tally.outcomes), len(docs), outcome.state.value,
                )  # fmt: skip
                reason = _reason(outcome.reasons) or outcome.state.value
                raise PrintError(reason, tally.printed)
            done += sheets

    async def print_documents(self, documents: tuple[E.IssuedDocument, ...]) -> None:
        await self._run(self._print_all, documents, asyncio.get_running_loop())

    def _not_ready(self) -> str:
        try:
            cond = self.a4.condition()
        except Exception as exc:  # IPP errors: as print_documents would say
            return f"offline:{type(exc).__name__}"
        return "" if cond.state.can_print else _reason(cond.reasons) or cond.state.value

    def _came_out(self, numbers: tuple[str, ...], wait_s: float) -> frozenset[str]:
        names = {f"kofu {n}": n for n in numbers}
        deadline = time.monotonic() + wait_s
        while True:
            jobs = [j for j in self.a4.jobs() if j.name in names]
            running = [j for j in jobs if not j.state.terminal]
            if not running:
                break
            if time.monotonic() > deadline or not self.a4.condition().state.can_print:
                # Stuck behind a fault: cancelled, so it cannot come out later on top of
                # the copy printed again in its place (as the print path does on a fault).
                for job in running:
                    self.a4.cancel(job.job_id)
                jobs = [j for j in self.a4.jobs() if j.name in names]
                break
            time.sleep(0.25)  # a job submitted before the host died is still printing
        return frozenset(names[j.name] for j in jobs if j.state is JobState.COMPLETED)

    async def came_out(self, numbers: tuple[str, ...], wait_s: float = 120.0) -> frozenset[str]:
        """Of these certificates, the ones whose print job completed, as the printer's job
        history tells (after a host restart: what came out before it died). A job still
        running is waited for; the printer unreachable raises."""
        return await self._run(self._came_out, numbers, wait_s)  # type: ignore[return-value]

    async def not_ready(self) -> str:
        return str(await self._run(self._not_ready))

    def _receipt(self, r: Receipt) -> None:
        issuers = {self._issuer.get(n, "unknown") for n in r.certificate_numbers} - {"unknown"}
        slip = ReceiptSlip(
            municipality=issuers.pop() if len(issuers) == 1 else self.municipality,
            kiosk_id=self.kiosk_id,
            transaction_no=",".join(r.certificate_numbers) or uuid.uuid4().hex[:10],
            issued_at=self._now_text(),
            lines=(ReceiptLine(r.kind.title_ja, r.copies, r.fee_yen // max(r.copies, 1)),),
            paid=r.paid_yen,
            change=r.change_yen,
        )
        try:
            self.receipt.print_receipt(slip)
        except esc.ReceiptPrinterError as exc:
            raise PrintError(f"receipt:{exc.status.value}") from None

    def _now_text(self) -> str:
        return self.clock().astimezone(TOKYO).strftime("%Y-%m-%d %H:%M")

    async def print_receipt(self, receipt: Receipt) -> None:
        await self._run(self._receipt, receipt)

    def _voucher(self, amount: int) -> None:
        if self.vouchers_from_journal:
            return  # the desk journaled this voucher and printed it with its number
        voucher = RefundVoucher(
            self.municipality, self.kiosk_id, uuid.uuid4().hex[:10].upper(), self._now_text(),
            amount, "釣銭不足",
        )  # fmt: skip
        try:
            self.receipt.print_voucher(voucher)
        except esc.ReceiptPrinterError as exc:
            raise PrintError(f"receipt:{exc.status.value}") from None

    async def print_voucher(self, amount_yen: int) -> None:
        await self._run(self._voucher, amount_yen)

    async def events(self) -> AsyncIterator[E.Event]:
        while True:
            yield await self._events.get()

    def close(self) -> None:
        self._pool.shutdown(wait=False)
        self.a4.close()
        self.receipt.close()


def _reason(reasons: tuple[str, ...]) -> str:
    for r in reasons:
        base = r.removesuffix("-error").removesuffix("-warning").removesuffix("-report")
        if base not in ("none", "other"):
            return base
    return ""
