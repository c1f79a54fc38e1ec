"""The cash journal: SQLite, WAL, ``synchronous=FULL``, append-only.

Every movement of money is one row, committed before anyone is told of it. Triggers refuse
UPDATE and DELETE, so history can only grow; balances are computed from the rows.

Kinds and their ``amount`` (yen):
- ``tx_open`` (fee asked), ``tx_closed`` — a transaction's life.
- ``credit`` — money taken in (device, event counter).
- ``bill_stack`` — intent: the host asked the validator to stack a bill (amount = its value).
- ``fee_captured`` — the fee became the municipality's.
- ``fee_refunded`` — a captured fee went back to the citizen (the center did not issue): the
  first entry of a refund transaction of its own (detail ``refunds``: the paying one), which
  then pays it out as ``refund_paid``. It counts against the fees, so the municipality is
  never credited for what it did not issue and the refund transaction balances.
- ``dispense`` — intent: a hopper was told to pay (amount = coins' value, counter = the
  hopper's event counter before).
- ``change_paid`` / ``refund_paid`` — coins that came out (change, or money given back).
- ``change_owed`` — money the kiosk still owes; ``voucher`` — the refund voucher for it.
- ``device_event`` — a device event with its counter (rejects, resets), no money.
- ``device_fault`` — something the operator must see.
- ``refill`` — coins the clerk loaded into a hopper (no transaction); detail ``clerk``: who,
  when done in clerk mode.
- ``collection`` — the clerk emptied the coin cash box and the bill stacker: amount = their
  total, detail ``through`` (every credit up to that journal seq is collected), ``coins`` and
  ``bills`` (value -> count), ``clerk`` (who, in clerk mode). Written once per ``through``: a
  repeated confirm is refused.
- ``clerk`` — clerk mode's audit trail, no money: detail ``event`` = ``signin`` (``clerk``: the
  id from kiosk.toml), ``signin_failed`` (``failures`` in a row), ``lockout`` (``failures``,
  ``seconds``, ``until``: epoch seconds of the kiosk's clock), ``op`` (``clerk``, ``op``:
  refill, collect, report, print_report, reprint, with its codes and counts), ``op_failed``
  (``clerk``, ``op``, ``error``), ``signout`` (``clerk``, ``reason``: exit or timeout). Never
  a PIN. The sign-in lockout is restored from these entries at start.
- ``session`` — a session fact for the daily report (detail ``event``: session_start,
  cancelled, timeout, issued, printed, print_failed, reprinted, device_fault; with codes,
  counts and yen only), no money.
- ``slip_printed`` / ``slip_failed`` — a refund voucher or receipt came out of the receipt
  printer, or did not (detail ``slip``, ``voucher``, ``status``); no money moves. A voucher
  whose last print failed must be reprinted by the clerk (`kofu cash reprint`).
- ``tx_ref`` — what a transaction pays for, no money: detail ``order`` (the center's order
  id, at the start of the payment), then once issued ``certificates`` (their numbers) and
  ``municipality`` (the issuer, which the report's per-municipality split uses). Ids only,
  never personal data; they are kept out of logs.
- ``order`` — the steps of the order a transaction pays, no money, so a host that died
  mid-session can finish it at start (`host/kiosk/recovery.py`): detail ``step`` =
  ``paying`` (``order``, ``key``: the idempotency key, ``lang``; durable before the center is
  asked to issue), ``printed`` (``certificate``: a copy came out, per its print job),
  ``settled`` (``outcome``: printed, refunded, reprint, …: nothing more is owed for it).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    tx TEXT,
    kind TEXT NOT NULL,
    amount INTEGER NOT NULL DEFAULT 0,
    device TEXT,
    counter INTEGER,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS entries_tx ON entries(tx, kind);
CREATE INDEX IF NOT EXISTS entries_kind ON entries(kind);
CREATE INDEX IF NOT EXISTS entries_device ON entries(device, seq);
CREATE TRIGGER IF NOT EXISTS entries_no_update BEFORE UPDATE ON entries
BEGIN SELECT RAISE(ABORT, 'the cash journal is append-only'); END;
CREATE TRIGGER IF NOT EXISTS entries_no_delete BEFORE DELETE ON entries
BEGIN SELECT RAISE(ABORT, 'the cash journal is append-only'); END;
CREATE TABLE IF NOT EXISTS clock (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    offset_s REAL NOT NULL
);
"""

KINDS = frozenset(
    {
        "tx_open",
        "tx_closed",
        "credit",
        "bill_stack",
        "fee_captured",
        "fee_refunded",
        "dispense",
        "change_paid",
        "refund_paid",
        "change_owed",
        "voucher",
        "device_event",
        "device_fault",
        "refill",
        "collection",
        "session",
        "slip_printed",
        "slip_failed",
        "clerk",
        "tx_ref",
        "order",
    }
)


class JournalError(Exception):
    """The journal refused an entry or could not be written."""


class AlreadyCollected(JournalError):
    """A collection through that journal seq (or a later one) is already journaled."""


@dataclass(frozen=True)
class Entry:
    seq: int
    ts: float
    tx: str | None
    kind: str
    amount: int
    device: str | None
    counter: int | None
    detail: dict[str, Any]


@dataclass
class Balance:
    tx: str
    fee: int = 0
    money_in: int = 0
    fee_captured: int = 0
    paid_out: int = 0
    owed: int = 0
    vouchered: int = 0
    closed: bool = False
    open_dispenses: int = 0
    open_stacks: int = 0

    @property
    def unresolved(self) -> int:
        """Money in that is neither the fee, nor paid back, nor recorded as owed."""
        return self.money_in - self.fee_captured - self.paid_out - self.owed

    @property
    def balanced(self) -> bool:
        return (
            self.unresolved == 0
            and self.owed == self.vouchered
            and self.open_dispenses == 0
            and self.open_stacks == 0
        )


class Journal:
    """The append-only cash journal.

    Entries are stamped by the clock of the service that writes them (``clock``: epoch
    seconds; the kiosk's clock, which a simulation or a test may start at another instant).
    A writer records its clock's offset from the machine's in the journal, so a reader (the
    cash report, the clerk's daily report) that opens the journal without a clock counts
    days by the writer's clock, never by the machine's.
    """

    def __init__(self, path: str | Path, clock: Callable[[], float] | None = None) -> None:
        self.path = Path(path)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        if clock is not None:
            self._db.execute(
                "INSERT INTO clock (id, offset_s) VALUES (1, ?)"
                " ON CONFLICT (id) DO UPDATE SET offset_s = excluded.offset_s",
                (clock() - time.time(),),
            )
            self.now: Callable[[], float] = clock
        else:
            row = self._db.execute("SELECT offset_s FROM clock WHERE id = 1").fetchone()
            offset = float(row[0]) if row else 0.0
            self.now = lambda: time.time() + offset

    def close(self) -> None:
        self._db.close()

    def append(
        self,
        kind: str,
        *,
        tx: str | None = None,
        amount: int = 0,
        device: str | None = None,
        counter: int | None = None,
        **detail: Any,
    ) -> int:
        """Append and commit one entry; returns its sequence number once it is durable."""
        if kind not in KINDS:
            raise JournalError(f"unknown journal kind {kind!r}")
        if amount < 0:
            raise JournalError("journal amounts are never negative")
        try:
            cur = self._db.execute(
                "INSERT INTO entries (ts, tx, kind, amount, device, counter, detail)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    self.now(),
                    tx,
                    kind,
                    amount,
                    device,
                    counter,
                    json.dumps(detail, sort_keys=True),
                ),
            )
        except sqlite3.Error as exc:
            raise JournalError(f"journal write failed: {exc}") from exc
        return int(cur.lastrowid or 0)

    def append_together(self, *entries: tuple[str, dict[str, Any]]) -> list[int]:
        """Append several entries as one: all durable, or none (one SQLite transaction).
        Each entry is ``(kind, fields)`` with the fields `append` takes."""
        rows = []
        for kind, fields in entries:
            if kind not in KINDS:
                raise JournalError(f"unknown journal kind {kind!r}")
            f = dict(fields)
            amount = int(f.pop("amount", 0))
            if amount < 0:
                raise JournalError("journal amounts are never negative")
            rows.append((self.now(), f.pop("tx", None), kind, amount, f.pop("device", None),
                         f.pop("counter", None), json.dumps(f, sort_keys=True)))  # fmt: skip
        seqs = []
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for row in rows:
                    cur = self._db.execute(
                        "INSERT INTO entries (ts, tx, kind, amount, device, counter, detail)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?)",
                        row,
                    )
                    seqs.append(int(cur.lastrowid or 0))
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise JournalError(f"journal write failed: {exc}") from exc
        return seqs

    def append_collection(self, through: int, amount: int, **detail: Any) -> int:
        """Journal a cash collection, atomically refusing one that is already there: the check
        and the write are one transaction, so two confirms (a double tap, a retry after a
        power cut) never count the money twice."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                last = self.last_collection_through()
                if last is not None and last >= through:
                    raise AlreadyCollected(f"already collected through {last}")
                seq = self.append("collection", amount=amount, through=through, **detail)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise JournalError(f"journal write failed: {exc}") from exc
        return seq

    def last_collection_through(self) -> int | None:
        row = self._db.execute(
            "SELECT MAX(json_extract(detail, '$.through')) FROM entries WHERE kind = 'collection'"
        ).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def last_event(self, kind: str, events: tuple[str, ...]) -> Entry | None:
        """The latest entry of ``kind`` whose detail ``event`` is one of ``events``."""
        marks = ", ".join("?" for _ in events)
        row = self._db.execute(
            "SELECT seq, ts, tx, kind, amount, device, counter, detail FROM entries"
            f" WHERE kind = ? AND json_extract(detail, '$.event') IN ({marks})"
            " ORDER BY seq DESC LIMIT 1",
            (kind, *events),
        ).fetchone()
        if row is None:
            return None
        return Entry(row[0], row[1], row[2], row[3], row[4], row[5], row[6], json.loads(row[7]))

    def last_seq(self) -> int:
        row = self._db.execute("SELECT MAX(seq) FROM entries").fetchone()
        return int(row[0] or 0)

    def entries(self, tx: str | None = None) -> Iterator[Entry]:
        query = "SELECT seq, ts, tx, kind, amount, device, counter, detail FROM entries"
        args: tuple[Any, ...] = ()
        if tx is not None:
            query += " WHERE tx = ?"
            args = (tx,)
        for row in self._db.execute(query + " ORDER BY seq", args):
            yield Entry(row[0], row[1], row[2], row[3], row[4], row[5], row[6], json.loads(row[7]))

    def entry(self, seq: int) -> Entry:
        row = self._db.execute(
            "SELECT seq, ts, tx, kind, amount, device, counter, detail FROM entries WHERE seq = ?",
            (seq,),
        ).fetchone()
        if row is None:
            raise JournalError(f"no journal entry {seq}")
        return Entry(row[0], row[1], row[2], row[3], row[4], row[5], row[6], json.loads(row[7]))

    def last_counter(self, device: str) -> int | None:
        row = self._db.execute(
            "SELECT counter FROM entries WHERE device = ? AND counter IS NOT NULL"
            " AND kind IN ('credit', 'device_event', 'device_fault') ORDER BY seq DESC LIMIT 1",
            (device,),
        ).fetchone()
        return None if row is None else int(row[0])

    def last_event_detail(self, device: str, event: str, key: str) -> Any:
        """``detail[key]`` of the latest ``device_event`` of that device and event, or None."""
        row = self._db.execute(
            "SELECT json_extract(detail, '$.' || ?) FROM entries WHERE kind = 'device_event'"
            " AND device = ? AND json_extract(detail, '$.event') = ? ORDER BY seq DESC LIMIT 1",
            (key, device, event),
        ).fetchone()
        return None if row is None else row[0]

    def voucher(self, voucher_no: str) -> Entry | None:
        row = self._db.execute(
            "SELECT seq, ts, tx, kind, amount, device, counter, detail FROM entries"
            " WHERE kind = 'voucher' AND json_extract(detail, '$.voucher') = ?"
            " ORDER BY seq LIMIT 1",
            (voucher_no,),
        ).fetchone()
        if row is None:
            return None
        return Entry(row[0], row[1], row[2], row[3], row[4], row[5], row[6], json.loads(row[7]))

    def voucher_prints(self) -> dict[str, str]:
        """Voucher number -> ``printed``, ``failed`` (its last attempt) or ``unprinted``."""
        out: dict[str, str] = {}
        for e in self.entries():
            no = e.detail.get("voucher")
            if not isinstance(no, str):
                continue
            if e.kind == "voucher":
                out.setdefault(no, "unprinted")
            elif e.kind in ("slip_printed", "slip_failed") and out.get(no) != "printed":
                out[no] = "printed" if e.kind == "slip_printed" else "failed"
        return out

    def open_intents(self, kind: str) -> list[Entry]:
        """Intents (``dispense``, ``bill_stack``) no later entry resolves."""
        rows = self._db.execute(
            "SELECT seq, ts, tx, kind, amount, device, counter, detail FROM entries AS i"
            " WHERE kind = ? AND NOT EXISTS (SELECT 1 FROM entries AS r"
            "  WHERE r.seq > i.seq AND r.tx IS i.tx"
            "  AND json_extract(r.detail, '$.resolves') = ?"
            "  AND json_extract(r.detail, '$.intent') = i.seq)"
            " ORDER BY seq",
            (kind, kind),
        )
        return [Entry(r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7])) for r in rows]

    def hopper_coins(self) -> dict[str, int]:
        """Net coins per hopper from the journal: refills minus coins paid out."""
        rows = self._db.execute(
            "SELECT device, SUM(CASE WHEN kind = 'refill' THEN 1 ELSE -1 END"
            " * COALESCE(json_extract(detail, '$.coins'), 0)) FROM entries"
            " WHERE kind IN ('refill', 'change_paid', 'refund_paid') AND device IS NOT NULL"
            " GROUP BY device"
        )
        return {str(r[0]): int(r[1]) for r in rows}

    def balance(self, tx: str) -> Balance:
        return self._fold(self.entries(tx)).get(tx, Balance(tx))

    def balances(self) -> dict[str, Balance]:
        return self._fold(self.entries())

    @staticmethod
    def _fold(entries: Iterator[Entry]) -> dict[str, Balance]:
        out: dict[str, Balance] = {}
        for e in entries:
            if e.tx is None:
                continue
            b = out.setdefault(e.tx, Balance(e.tx))
            if e.kind == "tx_open":
                b.fee = e.amount
            elif e.kind == "credit":
                b.money_in += e.amount
            elif e.kind == "fee_captured":
                b.fee_captured += e.amount
            elif e.kind == "fee_refunded":
                b.fee_captured -= e.amount
            elif e.kind in ("change_paid", "refund_paid"):
                b.paid_out += e.amount
            elif e.kind == "change_owed":
                b.owed += e.amount
            elif e.kind == "voucher":
                b.vouchered += e.amount
            elif e.kind == "tx_closed":
                b.closed = True
            elif e.kind == "dispense":
                b.open_dispenses += 1
            elif e.kind == "bill_stack":
                b.open_stacks += 1
            if e.detail.get("resolves") == "dispense":
                b.open_dispenses -= 1
            if e.detail.get("resolves") == "bill_stack":
                b.open_stacks -= 1
        return out

    def open_transactions(self) -> list[str]:
        rows = self._db.execute(
            "SELECT tx FROM entries AS o WHERE kind = 'tx_open' AND NOT EXISTS"
            " (SELECT 1 FROM entries AS c WHERE c.tx = o.tx AND c.kind = 'tx_closed')"
            " ORDER BY seq"
        )
        return [str(r[0]) for r in rows]
