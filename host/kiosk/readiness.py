"""What makes each part usable before a session starts: pure rules shared by the device
manager (polled while the kiosk is idle) and `kofu doctor`.

Each rule returns the session's ``Device`` → a short reason for every part that is *not*
usable (an empty dict: all usable).

The change rule: the kiosk is ready for change when the hoppers in service, counting the
journal's inventory minus the sensor margin, can pay **every** change a single overshooting
insertion can need: each multiple of the smallest coin from that coin up to the largest
accepted denomination minus that coin (1000-yen bills and 10-yen coins: 10, 20, … 990 yen).
A kiosk that cannot is out of service ("change") rather than taking money it cannot change.
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


def change_shortfall(available: dict[int, int], accepted: Iterable[int]) -> int:
    """The smallest change amount the hoppers cannot pay (0: every one can be paid)."""
    values = sorted(v for v in accepted if v > 0)
    if not values:
        return 0
    unit = values[0]
    limit = values[-1] - unit
    reach = payable_amounts(available, limit, unit)
    for k, ok in enumerate(reach):
        if not ok:
            return k * unit
    return 0


def change_reasons(available: dict[int, int], accepted: Iterable[int]) -> Reasons:
    short = change_shortfall(available, accepted)
    return {Device.CHANGE: f"cannot pay {short} yen"} if short else {}
