"""Balances and open items from the cash journal (what `kofu cash report` prints), what the
cash box and the bill stacker should hold, and the clerk's daily report (`--day`)."""

from __future__ import annotations

import time as _time
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from host.payment.journal import Journal
from host.payment.orders import settled, unfinished


@dataclass
class CashReport:
    transactions: int = 0
    money_in: int = 0
    fees_captured: int = 0
    fees_by_municipality: dict[str, int] = field(default_factory=dict)
    paid_out: int = 0
    owed: int = 0
    vouchers: list[dict[str, Any]] = field(default_factory=list)
    open_transactions: list[dict[str, Any]] = field(default_factory=list)
    unbalanced: list[dict[str, Any]] = field(default_factory=list)
    faults: list[dict[str, Any]] = field(default_factory=list)
    hopper_coins_paid: dict[str, int] = field(default_factory=dict)
    hopper_coins_refilled: dict[str, int] = field(default_factory=dict)
    # voucher numbers not printed (the last print failed, or none was tried): each is an open
    # item the clerk reprints (`kofu cash reprint`); the books do not balance until then
    vouchers_to_reprint: list[str] = field(default_factory=list)
    unprinted_vouchers: list[dict[str, Any]] = field(default_factory=list)
    # per transaction, what it paid for (``tx_ref``): order id, certificate numbers, issuer
    references: dict[str, dict[str, Any]] = field(default_factory=dict)
    receipts_failed: list[str] = field(default_factory=list)  # transactions
    # a fee captured for certificates not all in the citizen's hand yet, nor given back (a
    # host that died mid-session, recovered at its next start; a copy waiting for a clerk)
    unfinished_orders: list[dict[str, Any]] = field(default_factory=list)
    # sessions start-up recovery finished, and how (printed, refunded, reprint)
    recovered: list[dict[str, Any]] = field(default_factory=list)
    collections: int = 0  # times the clerk emptied the cash box and the stacker
    collected: int = 0  # yen taken out by those collections
    in_cash_box: int = 0  # yen the cash box and the stacker hold since the last one

    @property
    def money_balanced(self) -> bool:
        """Money in = fees + paid out + owed, over the whole journal."""
        return self.money_in == self.fees_captured + self.paid_out + self.owed

    @property
    def open_items(self) -> int:
        """Open transactions, unbalanced ones, vouchers not in the citizen's hand and fees
        that have not yet bought what they paid for."""
        return (
            len(self.open_transactions) + len(self.unbalanced) + len(self.unprinted_vouchers)
            + len(self.unfinished_orders)
        )  # fmt: skip

    @property
    def balanced(self) -> bool:
        """The books close: the money balances and nothing is open. A voucher recorded but
        not printed is owed money the citizen does not hold: never balanced."""
        return self.money_balanced and self.open_items == 0

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["money_balanced"] = self.money_balanced
        out["open_items"] = self.open_items
        out["balanced"] = self.balanced
        return out


def transaction_references(journal: Journal) -> dict[str, dict[str, Any]]:
    """Per transaction: ``municipality`` (``tx_ref`` once issued, else ``tx_open``'s, else
    "unknown"), ``order`` and ``certificates`` when journaled. A fee refund's transaction
    takes those of the transaction whose fee it gives back."""
    refs: dict[str, dict[str, Any]] = {}
    refunds: dict[str, str] = {}
    for e in journal.entries():
        if not e.tx:
            continue
        if e.kind == "tx_open":
            ref = refs.setdefault(e.tx, {})
            if e.detail.get("municipality"):
                ref.setdefault("municipality", str(e.detail["municipality"]))
            if e.detail.get("refunds"):
                refunds[e.tx] = str(e.detail["refunds"])
        elif e.kind == "tx_ref":
            ref = refs.setdefault(e.tx, {})
            for key in ("order", "municipality"):
                if e.detail.get(key):
                    ref[key] = str(e.detail[key])
            if e.detail.get("certificates"):
                ref["certificates"] = [str(n) for n in e.detail["certificates"]]
    for tx, paying in refunds.items():
        refs[tx] = {**refs.get(tx, {}), **refs.get(paying, {})}
    for ref in refs.values():
        ref.setdefault("municipality", "unknown")
    return refs


def build_report(journal: Journal) -> CashReport:
    report = CashReport()
    report.references = transaction_references(journal)

    def municipality(tx: str) -> str:
        return str(report.references.get(tx, {}).get("municipality", "unknown"))

    prints = journal.voucher_prints()
    for e in journal.entries():
        if e.kind == "fee_captured" and e.tx:
            m = municipality(e.tx)
            report.fees_by_municipality[m] = report.fees_by_municipality.get(m, 0) + e.amount
        elif e.kind == "fee_refunded" and e.tx:
            m = municipality(e.tx)
            report.fees_by_municipality[m] = report.fees_by_municipality.get(m, 0) - e.amount
        elif e.kind == "voucher":
            no = e.detail.get("voucher")
            state = prints.get(str(no), "unprinted")
            item = {"tx": e.tx, "amount": e.amount, "voucher": no, "print": state}
            report.vouchers.append(item)
            if state != "printed":
                report.vouchers_to_reprint.append(str(no))
                report.unprinted_vouchers.append(item)
        elif e.kind == "slip_failed" and e.detail.get("slip") == "receipt" and e.tx:
            report.receipts_failed.append(e.tx)
        elif e.kind == "device_fault":
            report.faults.append(
                {"seq": e.seq, "device": e.device, "code": e.detail.get("code"), "tx": e.tx}
            )
        elif e.kind == "refill" and e.device:
            coins = int(e.detail.get("coins", 0))
            report.hopper_coins_refilled[e.device] = (
                report.hopper_coins_refilled.get(e.device, 0) + coins
            )
        elif e.kind in ("change_paid", "refund_paid") and e.device:
            coins = int(e.detail.get("coins", 0))
            report.hopper_coins_paid[e.device] = report.hopper_coins_paid.get(e.device, 0) + coins
        elif e.kind == "collection":
            report.collections += 1
            report.collected += e.amount
    report.in_cash_box = cash_box(journal).total
    report.unfinished_orders = [
        {"tx": u.tx, "order": u.order, "fee": u.fee, "certificates": list(u.certificates),
         "printed": sorted(u.printed)}
        for u in unfinished(journal)
    ]  # fmt: skip
    report.recovered = settled(journal)
    for tx, b in journal.balances().items():
        report.transactions += 1
        report.money_in += b.money_in
        report.fees_captured += b.fee_captured
        report.paid_out += b.paid_out
        report.owed += b.owed
        item = {
            "tx": tx,
            "fee": b.fee,
            "money_in": b.money_in,
            "unresolved": b.unresolved,
            "open_dispenses": b.open_dispenses,
            "open_stacks": b.open_stacks,
        }
        if not b.closed:
            report.open_transactions.append(item)
        elif not b.balanced:
            report.unbalanced.append(item)
    return report


VOUCHER_PRINT = {
    "printed": "printed",
    "failed": "PRINT FAILED: clerk reprints",
    "unprinted": "NOT PRINTED: clerk prints it",
}


def format_report(report: CashReport) -> str:
    lines = [
        f"transactions      {report.transactions}",
        f"money in          {report.money_in:>8} yen",
        f"fees captured     {report.fees_captured:>8} yen",
    ]
    for m, amount in sorted(report.fees_by_municipality.items()):
        lines.append(f"  {m:<16}{amount:>8} yen")
    lines += [
        f"paid out          {report.paid_out:>8} yen",
        f"owed (vouchers)   {report.owed:>8} yen",
        "balanced          "
        + ("yes" if report.balanced else f"NO ({report.open_items} open items)"),
    ]
    for name, coins in sorted(report.hopper_coins_paid.items()):
        lines.append(f"{name:<18}{coins:>8} coins paid")
    for name, coins in sorted(report.hopper_coins_refilled.items()):
        lines.append(f"{name:<18}{coins:>8} coins refilled")
    lines.append(f"collected         {report.collected:>8} yen ({report.collections} times)")
    lines.append(f"in cash box       {report.in_cash_box:>8} yen (box + stacker, to collect)")
    if report.open_transactions:
        lines.append("open transactions (run `kofu cash recover`):")
        lines += [
            f"  {t['tx']}  in {t['money_in']}  unresolved {t['unresolved']}"
            for t in report.open_transactions
        ]
    if report.unbalanced:
        lines.append("UNBALANCED transactions:")
        lines += [f"  {t['tx']}  unresolved {t['unresolved']}" for t in report.unbalanced]
    if report.vouchers:
        lines.append("refund vouchers:")
        lines += [
            f"  {v['voucher']}  {v['amount']} yen  {VOUCHER_PRINT[v['print']]}"
            for v in report.vouchers
        ]
    if report.unprinted_vouchers:
        lines.append(
            f"OPEN: vouchers not printed: {len(report.unprinted_vouchers)}"
            " (the citizen holds no slip; run `kofu cash reprint`)"
        )
        lines += [f"  {v['voucher']}  {v['amount']} yen" for v in report.unprinted_vouchers]
    if report.unfinished_orders:
        lines.append(
            f"OPEN: paid, not yet printed nor refunded: {len(report.unfinished_orders)}"
            " (the kiosk finishes them at its next start; a clerk reprints failed copies)"
        )
        lines += [
            f"  {u['tx']}  fee {u['fee']} yen  printed {len(u['printed'])}"
            f" of {len(u['certificates'])}"
            for u in report.unfinished_orders
        ]
    if report.recovered:
        lines.append(f"interrupted sessions recovered: {len(report.recovered)}")
        lines += [f"  {r['tx']}  {r['outcome']}" for r in report.recovered]
    if report.receipts_failed:
        lines.append(f"receipts not printed: {len(report.receipts_failed)}")
    if report.faults:
        lines.append(
            f"device faults: {len(report.faults)} (latest: "
            f"{report.faults[-1]['device']}: {report.faults[-1]['code']})"
        )
    return "\n".join(lines)


# --- clerk: what the cash box and the stacker hold, and the daily report ---------------------

TOKYO = ZoneInfo("Asia/Tokyo")
BILL_MIN_YEN = 1000  # yen coins stop at 500, bills start at 1000


@dataclass(frozen=True)
class CashBoxContents:
    """What the journal says the coin cash box and the bill stacker hold: every credited coin
    drops into the cash box and every stacked bill into the stacker (change and refunds come
    from the hoppers), counted from the last collection up to journal seq ``through``."""

    through: int
    coins: dict[int, int]  # value -> count
    bills: dict[int, int]

    @property
    def coins_yen(self) -> int:
        return sum(v * n for v, n in self.coins.items())

    @property
    def bills_yen(self) -> int:
        return sum(v * n for v, n in self.bills.items())

    @property
    def total(self) -> int:
        return self.coins_yen + self.bills_yen


def cash_box(journal: Journal, through: int | None = None) -> CashBoxContents:
    """Contents since the last collection, up to ``through`` (default: the journal's end)."""
    end = journal.last_seq() if through is None else through
    start = journal.last_collection_through() or 0
    coins: dict[int, int] = {}
    bills: dict[int, int] = {}
    for e in journal.entries():
        if e.kind != "credit" or not start < e.seq <= end:
            continue
        into = bills if e.amount >= BILL_MIN_YEN else coins
        into[e.amount] = into.get(e.amount, 0) + 1
    return CashBoxContents(end, coins, bills)


def day_bounds(day: date) -> tuple[float, float]:
    """The Asia/Tokyo calendar day as epoch seconds [start, end), whatever the machine's zone."""
    start = datetime.combine(day, time(0), tzinfo=TOKYO)
    return start.timestamp(), (start + timedelta(days=1)).timestamp()


def tokyo_today(now: float | None = None) -> date:
    return datetime.fromtimestamp(_time.time() if now is None else now, TOKYO).date()


def _add(d: dict[str, int], key: str, n: int) -> None:
    d[key] = d.get(key, 0) + n


def build_day_report(journal: Journal, day: date) -> dict[str, Any]:
    """The clerk's daily report: codes, counts and yen only (no personal data). Session facts
    come from ``session`` entries, money from the cash entries of that Tokyo day."""
    start, end = day_bounds(day)
    sessions = {
        "started": 0,
        "completed": 0,
        "cancelled": 0,
        "timed_out": 0,
        "print_failed": 0,
    }
    certificates: dict[str, int] = {}
    fees_by_municipality: dict[str, int] = {}
    faults: dict[str, int] = {}
    refills: dict[str, dict[str, int]] = {}
    collections: list[dict[str, Any]] = []
    refund_tx: set[str] = set()
    recovered: dict[str, int] = {}  # interrupted sessions a restart finished, by outcome
    refunds_yen = fees_captured = reprints = 0
    vouchers_issued = vouchers_issued_yen = 0
    outstanding = outstanding_yen = 0
    issued_vouchers: dict[str, int] = {}  # number -> yen, issued up to the end of the day
    printed: set[str] = set()  # printed at any time up to now (a reprint counts)
    for e in journal.entries():
        no = e.detail.get("voucher")
        if e.kind == "slip_printed" and isinstance(no, str):
            printed.add(no)
        if e.ts >= end:
            continue  # not break: a clock step back must not hide later entries
        if e.kind == "voucher" and isinstance(no, str):
            issued_vouchers[no] = e.amount
        if e.kind == "voucher":
            # The kiosk never redeems a voucher (the city hall does): every voucher issued up
            # to the end of the day is outstanding as far as the kiosk can tell.
            outstanding += 1
            outstanding_yen += e.amount
        if e.ts < start:
            continue
        event = str(e.detail.get("event", ""))
        if e.kind == "session":
            if event == "session_start":
                sessions["started"] += 1
            elif event == "printed":
                sessions["completed"] += 1
            elif event == "cancelled":
                sessions["cancelled"] += 1
            elif event == "timeout":
                sessions["timed_out"] += 1
            elif event == "print_failed":
                sessions["print_failed"] += 1
            elif event == "reprinted":
                reprints += 1
            elif event == "issued":
                kind = str(e.detail.get("certificate", "unknown"))
                _add(certificates, kind, _int(e.detail, "copies"))
                municipality = str(e.detail.get("municipality") or "unknown")
                _add(fees_by_municipality, municipality, _int(e.detail, "fee"))
            elif event == "device_fault":
                _add(faults, e.device or "unknown", 1)
        elif e.kind == "device_fault":
            _add(faults, e.device or "unknown", 1)
        elif e.kind == "order" and e.detail.get("step") == "settled":
            _add(recovered, str(e.detail.get("outcome", "unknown")), 1)
        elif e.kind == "fee_captured":
            fees_captured += e.amount
        elif e.kind == "fee_refunded":
            fees_captured -= e.amount
        elif e.kind == "refund_paid":
            refunds_yen += e.amount
            refund_tx.add(e.tx or "")
        elif e.kind == "voucher":
            vouchers_issued += 1
            vouchers_issued_yen += e.amount
        elif e.kind == "refill" and e.device:
            r = refills.setdefault(e.device, {"coins": 0, "yen": 0})
            r["coins"] += _int(e.detail, "coins")
            r["yen"] += e.amount
        elif e.kind == "collection":
            collections.append(
                {
                    "yen": e.amount,
                    "coins": dict(e.detail.get("coins", {})),
                    "bills": dict(e.detail.get("bills", {})),
                }
            )
    return {
        "day": day.isoformat(),
        "timezone": "Asia/Tokyo",
        "sessions": sessions,
        "certificates": certificates,
        "fees_yen": sum(fees_by_municipality.values()),
        "fees_by_municipality": fees_by_municipality,
        "cash_fees_captured_yen": fees_captured,
        "refunds": {"count": len(refund_tx), "yen": refunds_yen},
        "recovered_sessions": recovered,
        "vouchers": {
            "issued": vouchers_issued,
            "issued_yen": vouchers_issued_yen,
            "outstanding": outstanding,
            "outstanding_yen": outstanding_yen,
            # open items: owed on a voucher the citizen was never handed (`kofu cash reprint`)
            "unprinted": [
                {"voucher": no, "amount": yen}
                for no, yen in issued_vouchers.items()
                if no not in printed
            ],
        },
        "refills": refills,
        "collections": collections,
        "collected_yen": sum(c["yen"] for c in collections),
        "print_failures": sessions["print_failed"],
        "reprints": reprints,
        "device_faults": faults,
    }


def _int(detail: dict[str, Any], key: str) -> int:
    try:
        return int(detail.get(key, 0))
    except (TypeError, ValueError):
        return 0
