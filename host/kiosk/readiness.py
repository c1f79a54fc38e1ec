"""What makes each part usable before a session starts: pure rules shared by the device
manager (polled while the kiosk is idle) and `kofu doctor`.

Each rule returns the session's ``Device`` → a short reason for every part that is *not*
usable (an empty dict: all usable).

The change rule: the kiosk is ready for change when the hoppers in service, counting the
journal's inventory minus the sensor margin, can give the change of one copy of every
configured fee paid with any single accepted coin or bill larger than it (fees 200 and 300
yen, 500-yen coins and 1000-yen bills: 300, 200, 800 and 700 yen). Smaller overshoots are
the cash desk's business: it inhibits a denomination it could not change ("exact change
only"). A kiosk that cannot even do this is out of service ("change").
"""

from __future__ import annotations

from collections.abc import Iterable

from drivers.printer.receipt import ReceiptStatus
from drivers.printer.states import PrinterCondition, PrinterState, base_keyword
from host.session.events import Device

Reasons = dict[Device, str]

_PAPER = {PrinterState.PAPER_OUT}


def a4_reasons(cond: PrinterCondition) -> Reasons:
    """The A4 printer's IPP condition → PRINTER and PAPER health."""
    if cond.state.can_print:
        return {}
    keyword = next(
        (base_keyword(r) for r in cond.reasons if base_keyword(r) not in ("none", "other")),
        cond.state.value,
    )
    if cond.state in _PAPER:
        return {Device.PAPER: keyword}
    return {Device.PRINTER: keyword}


def receipt_reasons(status: ReceiptStatus) -> Reasons:
    """ESC/POS real-time status → RECEIPT_PRINTER health (paper near end still prints)."""
    if status.can_print:
        return {}
    return {Device.RECEIPT_PRINTER: status.value}


def payable_amounts(available: dict[int, int], limit: int, unit: int) -> list[bool]:
    """``reach[k]``: ``k * unit`` yen can be paid with at most ``available[v]`` coins of each
    value ``v`` (bounded subset sum, one pass per coin value)."""
    n = limit // unit
    reach = [False] * (n + 1)
    reach[0] = True
    for value, count in sorted(available.items()):
        if value <= 0 or count <= 0 or value % unit:
            continue
        step = value // unit
        used = [0] * (n + 1)
        for a in range(step, n + 1):
            if not reach[a] and reach[a - step] and used[a - step] < count:
                reach[a] = True
                used[a] = used[a - step] + 1
    return reach


def change_shortfall(
    available: dict[int, int], accepted: Iterable[int], fees: Iterable[int]
) -> int:
    """The smallest required change the hoppers cannot pay (0: every one can be paid)."""
    needed = sorted({d - f for d in accepted for f in fees if 0 < f < d})
    if not needed:
        return 0
    reach = payable_amounts(available, needed[-1], 1)
    return next((a for a in needed if not reach[a]), 0)


def change_reasons(
    available: dict[int, int], accepted: Iterable[int], fees: Iterable[int]
) -> Reasons:
    short = change_shortfall(available, accepted, fees)
    return {Device.CHANGE: f"cannot pay {short} yen"} if short else {}


def fee_amounts(fees: dict[str, dict[str, int]]) -> set[int]:
    """Every per-copy fee of ``[cash.fees]`` (municipality → type → yen)."""
    return {int(v) for table in fees.values() for v in table.values() if int(v) > 0}
