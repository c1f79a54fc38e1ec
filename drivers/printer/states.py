"""Printer conditions the kiosk acts on, from IPP ``printer-state`` + ``printer-state-reasons``.

A reason keyword may carry a severity suffix (-report, -warning, -error); the kiosk cares
about the condition itself: a printer "media-empty-report" while idle has no paper all the
same. Conditions are ordered by what the clerk must do first.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from drivers.printer.ipp_core import PrinterStateCode
from drivers.printer.ipp_ops import PrinterStatus


class PrinterState(StrEnum):
    READY = "ready"  # can take a job now
    PRINTING = "printing"  # busy, healthy
    PAPER_OUT = "paper_out"  # out of service until refilled
    JAM = "jam"
    DOOR_OPEN = "door_open"
    TONER_OUT = "toner_out"
    OFFLINE = "offline"  # unreachable or shut down
    ERROR = "error"  # stopped for a reason we do not know

    @property
    def can_print(self) -> bool:
        return self in (PrinterState.READY, PrinterState.PRINTING)


class PrinterWarning(StrEnum):
    PAPER_LOW = "paper_low"
    TONER_LOW = "toner_low"


# base keyword -> condition, in priority order (first match wins)
_FAULTS: tuple[tuple[frozenset[str], PrinterState], ...] = (
    (frozenset({"offline", "shutdown", "timed-out", "connecting-to-device"}), PrinterState.OFFLINE),
    (frozenset({"door-open", "cover-open", "interlock-open", "input-tray-missing",
                "output-tray-missing"}), PrinterState.DOOR_OPEN),
    (frozenset({"media-jam"}), PrinterState.JAM),
    (frozenset({"media-empty", "media-needed"}), PrinterState.PAPER_OUT),
    (frozenset({"toner-empty", "marker-supply-empty", "marker-ink-almost-empty"}),
     PrinterState.TONER_OUT),
)
_WARNINGS = {
    "media-low": PrinterWarning.PAPER_LOW,
    "toner-low": PrinterWarning.TONER_LOW,
    "marker-supply-low": PrinterWarning.TONER_LOW,
}
_SUFFIXES = ("-report", "-warning", "-error")


def base_keyword(reason: str) -> str:
    for suffix in _SUFFIXES:
        if reason.endswith(suffix):
            return reason[: -len(suffix)]
    return reason


@dataclass(frozen=True)
class PrinterCondition:
    state: PrinterState
    warnings: tuple[PrinterWarning, ...] = ()
    reasons: tuple[str, ...] = ()  # raw IPP keywords, for the clerk and the log
    message: str = ""


def condition(status: PrinterStatus) -> PrinterCondition:
    bases = {base_keyword(r) for r in status.reasons}
    warnings = tuple(sorted({w for k, w in _WARNINGS.items() if k in bases}))
    state: PrinterState | None = None
    for keywords, fault in _FAULTS:
        if bases & keywords:
            state = fault
            break
    if state is None:
        if status.state is PrinterStateCode.STOPPED or not status.accepting:
            state = PrinterState.ERROR
        elif status.state is PrinterStateCode.PROCESSING:
            state = PrinterState.PRINTING
        else:
            state = PrinterState.READY
    return PrinterCondition(state, warnings, status.reasons, status.message)


OFFLINE = PrinterCondition(PrinterState.OFFLINE, message="printer unreachable")
