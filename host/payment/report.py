"""Balances and open items from the cash journal (what `kofu cash report` prints)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from host.payment.journal import Journal


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
    # voucher numbers whose last print failed: the clerk must reprint them
    vouchers_to_reprint: list[str] = field(default_factory=list)
    receipts_failed: list[str] = field(default_factory=list)  # transactions

    @property
    def balanced(self) -> bool:
        return self.money_in == self.fees_captured + self.paid_out + self.owed

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["balanced"] = self.balanced
        return out


def build_report(journal: Journal) -> CashReport:
    report = CashReport()
    municipality: dict[str, str] = {}
    prints = journal.voucher_prints()
    for e in journal.entries():
        if e.kind == "tx_open" and e.tx:
            municipality[e.tx] = str(e.detail.get("municipality") or "unknown")
        elif e.kind == "fee_captured" and e.tx:
            m = municipality.get(e.tx, "unknown")
            report.fees_by_municipality[m] = report.fees_by_municipality.get(m, 0) + e.amount
        elif e.kind == "voucher":
            no = e.detail.get("voucher")
            state = prints.get(str(no), "unprinted")
            report.vouchers.append(
                {"tx": e.tx, "amount": e.amount, "voucher": no, "print": state}
            )
            if state == "failed":
                report.vouchers_to_reprint.append(str(no))
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
    "unprinted": "not printed (no receipt printer)",
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
        f"balanced          {'yes' if report.balanced else 'NO'}",
    ]
    for name, coins in sorted(report.hopper_coins_paid.items()):
        lines.append(f"{name:<18}{coins:>8} coins paid")
    for name, coins in sorted(report.hopper_coins_refilled.items()):
        lines.append(f"{name:<18}{coins:>8} coins refilled")
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
    if report.vouchers_to_reprint:
        lines.append(
            f"vouchers to reprint: {len(report.vouchers_to_reprint)} (run `kofu cash reprint`)"
        )
    if report.receipts_failed:
        lines.append(f"receipts not printed: {len(report.receipts_failed)}")
    if report.faults:
        lines.append(
            f"device faults: {len(report.faults)} (latest: "
            f"{report.faults[-1]['device']}: {report.faults[-1]['code']})"
        )
    return "\n".join(lines)
