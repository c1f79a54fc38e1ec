"""Refund vouchers and transaction receipts on the receipt printer, with a journal record of
each attempt.

The money side never waits on paper: a voucher is journaled before it is printed, and a
print that fails is journaled as ``slip_failed`` (the clerk reprints it with
`kofu cash reprint`; `kofu cash report` lists it). Slips are drawn from the journal alone,
so a reprint is the same slip as the first print. They carry amounts and numbers, never
personal data.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from drivers.printer.receipt import ReceiptPrinter, ReceiptPrinterError
from drivers.printer.receipt_layout import (
    Receipt,
    ReceiptFontMissing,
    ReceiptLine,
    RefundVoucher,
)
from host.payment.journal import Journal

log = logging.getLogger(__name__)

# change_owed reasons (desk) -> the text printed on the voucher
VOUCHER_REASONS = {
    "change": "釣銭不足",
    "refund": "返金不足",
    "stray credit": "取引外の入金",
    "recovery": "障害復旧",
}


class SlipError(ValueError):
    """A slip asked for does not match the journal (unknown voucher, wrong receipt total)."""


TOKYO = ZoneInfo("Asia/Tokyo")


def local_time(ts: float) -> str:
    """Japan time, whatever the machine's zone: a slip's time matches the receipt's."""
    return datetime.fromtimestamp(ts, TOKYO).strftime("%Y-%m-%d %H:%M")


class SlipPrinter:
    def __init__(
        self,
        journal: Journal,
        printer: ReceiptPrinter,
        *,
        kiosk_id: str,
        municipality: str,
    ) -> None:
        """``municipality``: the name printed at the top (e.g. 桜川原市)."""
        self.journal = journal
        self.printer = printer
        self.kiosk_id = kiosk_id
        self.municipality = municipality

    def voucher_slip(self, voucher_no: str) -> RefundVoucher:
        entry = self.journal.voucher(voucher_no)
        if entry is None:
            raise SlipError(f"no voucher {voucher_no!r} in the journal")
        reason = str(entry.detail.get("reason") or "recovery")
        return RefundVoucher(
            municipality=self.municipality,
            kiosk_id=self.kiosk_id,
            voucher_no=voucher_no,
            issued_at=local_time(entry.ts),
            amount=entry.amount,
            reason=VOUCHER_REASONS.get(reason, VOUCHER_REASONS["recovery"]),
        )

    def print_voucher(self, voucher_no: str) -> bool:
        """Print one voucher; True when it came out. Never raises for a printer fault."""
        slip = self.voucher_slip(voucher_no)
        entry = self.journal.voucher(voucher_no)
        assert entry is not None
        try:
            self.printer.print_voucher(slip)
        except (ReceiptPrinterError, ReceiptFontMissing, OSError) as exc:
            self._failed(entry.tx, "voucher", exc, voucher=voucher_no, amount=entry.amount)
            return False
        self.journal.append(
            "slip_printed", tx=entry.tx, amount=entry.amount, slip="voucher", voucher=voucher_no
        )
        return True

    def reprint_unprinted(self) -> dict[str, bool]:
        """Every voucher not printed yet (failed or never tried): voucher -> printed now."""
        pending = [no for no, state in self.journal.voucher_prints().items() if state != "printed"]
        return {no: self.print_voucher(no) for no in pending}

    def receipt_slip(
        self, tx: str, lines: Sequence[ReceiptLine], *, municipality: str | None = None
    ) -> Receipt:
        b = self.journal.balance(tx)
        if b.fee_captured == 0:
            raise SlipError(f"transaction {tx} has no captured fee: nothing to give a receipt for")
        if sum(line.amount for line in lines) != b.fee_captured:
            raise SlipError(
                f"receipt lines total {sum(line.amount for line in lines)} yen,"
                f" but {b.fee_captured} yen were captured"
            )
        captured = next(e for e in self.journal.entries(tx) if e.kind == "fee_captured")
        return Receipt(
            municipality=municipality or self.municipality,
            kiosk_id=self.kiosk_id,
            transaction_no=tx,
            issued_at=local_time(captured.ts),
            lines=tuple(lines),
            paid=b.money_in,
            change=b.paid_out,
        )

    def print_receipt(
        self, tx: str, lines: Sequence[ReceiptLine], *, municipality: str | None = None
    ) -> bool:
        """The transaction receipt after a successful payment (fee captured, change given).
        True when it came out; a failure is journaled, not raised."""
        slip = self.receipt_slip(tx, lines, municipality=municipality)
        try:
            self.printer.print_receipt(slip)
        except (ReceiptPrinterError, ReceiptFontMissing, OSError) as exc:
            self._failed(tx, "receipt", exc, amount=slip.total)
            return False
        self.journal.append("slip_printed", tx=tx, amount=slip.total, slip="receipt")
        return True

    def _failed(
        self, tx: str | None, slip: str, exc: Exception, amount: int, voucher: str | None = None
    ) -> None:
        status = getattr(getattr(exc, "status", None), "value", type(exc).__name__)
        log.warning("receipt printer: %s not printed (%s)", slip, status)
        self.journal.append(
            "slip_failed",
            tx=tx,
            amount=amount,
            slip=slip,
            status=status,
            action="clerk reprints" if slip == "voucher" else "none",
            voucher=voucher,
        )
