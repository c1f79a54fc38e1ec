"""The coprocessor driver (see README.md): typed events in, commands out, link health."""

from host.coproc.driver import CommandNotDelivered, CoprocDriver, CoprocError, LinkDownError
from host.coproc.messages import (
    BuzzerPattern,
    CoinEventsLost,
    CoinInserted,
    CoinRejected,
    CoinRejectReason,
    CoprocEvent,
    DoorChanged,
    Led,
    LedMode,
    LinkStatus,
    ResetCause,
    StatusReport,
    Tray,
    TrayChanged,
)

__all__ = [
    "BuzzerPattern",
    "CoinEventsLost",
    "CoinInserted",
    "CoinRejectReason",
    "CoinRejected",
    "CommandNotDelivered",
    "CoprocDriver",
    "CoprocError",
    "CoprocEvent",
    "DoorChanged",
    "Led",
    "LedMode",
    "LinkDownError",
    "LinkStatus",
    "ResetCause",
    "StatusReport",
    "Tray",
    "TrayChanged",
]
