"""The two sets of books a kiosk session lands in, read without changing either: the
kiosk's cash journal (`host/payment/journal.py`, SQLite) and the center's ledger
(`center/models.py` LedgerEntry, its SQLite database), each opened read-only."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def _read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)


@dataclass
class JournalPart:
    """Journal entries after one seq: fees, vouchers and their prints, transactions."""

    last_seq: int = 0
    fees: int = 0  # fee_captured - fee_refunded
    txs: set[str] = field(default_factory=set)
    vouchers: dict[str, int] = field(default_factory=dict)  # number -> yen
    printed: set[str] = field(default_factory=set)  # voucher numbers with slip_printed
    orders: set[str] = field(default_factory=set)  # from tx_ref, where journaled

    @property
    def unprinted(self) -> dict[str, int]:
        return {no: yen for no, yen in self.vouchers.items() if no not in self.printed}


def journal_since(path: Path, seq: int) -> JournalPart:
    part = JournalPart(last_seq=seq)
    if not path.exists():
        return part
    db = _read_only(path)
    try:
        rows = db.execute(
            "SELECT seq, tx, kind, amount, detail FROM entries WHERE seq > ? ORDER BY seq", (seq,)
        ).fetchall()
    finally:
        db.close()
    for s, tx, kind, amount, raw in rows:
        detail: dict[str, Any] = json.loads(raw or "{}")
        part.last_seq = max(part.last_seq, int(s))
        if tx:
            part.txs.add(str(tx))
        if kind == "fee_captured":
            part.fees += int(amount)
        elif kind == "fee_refunded":
            part.fees -= int(amount)
        elif kind == "voucher" and isinstance(detail.get("voucher"), str):
            part.vouchers[detail["voucher"]] = int(amount)
        elif kind == "slip_printed" and isinstance(detail.get("voucher"), str):
            part.printed.add(detail["voucher"])
        elif kind == "tx_ref" and detail.get("order"):
            part.orders.add(str(detail["order"]))
    return part


@dataclass
class LedgerPart:
    """Center ledger rows after one id."""

    last_id: int = 0
    fees: int = 0
    issued: list[str] = field(default_factory=list)  # certificate numbers, kind issue
    reprinted: list[str] = field(default_factory=list)


def ledger_since(center_db: Path, row_id: int) -> LedgerPart:
    part = LedgerPart(last_id=row_id)
    db = _read_only(center_db)
    try:
        rows = db.execute(
            "SELECT id, certificate_number, kind, fee FROM ledger WHERE id > ? ORDER BY id",
            (row_id,),
        ).fetchall()
    finally:
        db.close()
    for rid, number, kind, fee in rows:
        part.last_id = max(part.last_id, int(rid))
        part.fees += int(fee)
        (part.issued if kind == "issue" else part.reprinted).append(str(number))
    return part


def _kofu(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-c", "import sys; from host.cli import main; "
           "sys.exit(main(sys.argv[1:]))", *args]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def cash_refill(journal: Path, hopper: int, value: int, coins: int) -> None:
    """`kofu cash refill`: the coins a clerk loaded into a hopper, journaled."""
    done = _kofu("cash", "refill", "--hopper", str(hopper), "--value", str(value),
                 "--coins", str(coins), "--journal", str(journal))  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"kofu cash refill: {done.stdout}{done.stderr}")


def cash_report(journal: Path) -> tuple[int, dict[str, Any]]:
    """`kofu cash report --journal J --json` as the clerk runs it: (exit status, report)."""
    done = _kofu("cash", "report", "--journal", str(journal), "--json")
    try:
        report: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError:
        report = {"error": (done.stdout + done.stderr)[-500:]}
    return done.returncode, report
