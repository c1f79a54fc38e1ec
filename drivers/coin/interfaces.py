"""One driver interface per cash device kind, and the events they report.

Real (serial) and simulated devices sit behind these; host code only sees the interface.
Every event names its device and, where the device has one, its event counter, so the
journal can tell a new credit from one it already has.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol


@dataclass(frozen=True)
class Credit:
    """Money the device has taken for good. Journal it before telling anyone."""

    device: str
    value: int
    counter: int | None = None  # device event counter, when the device has one


@dataclass(frozen=True)
class Rejected:
    device: str
    reason: str
    counter: int | None = None


@dataclass(frozen=True)
class Fault:
    """Something the operator must see; ``out_of_service`` means the device stopped taking money."""

    device: str
    code: str
    out_of_service: bool = False
    counter: int | None = None


@dataclass(frozen=True)
class DeviceReset:
    """The device lost power or reset: its inhibits were re-applied by the driver."""

    device: str


@dataclass(frozen=True)
class DeviceReady:
    """A device that reported an out-of-service fault is idle and usable again."""

    device: str


@dataclass(frozen=True)
class Escrow:
    """A bill waits in escrow: the host must stack or return it (not money yet)."""

    device: str
    value: int


@dataclass(frozen=True)
class VendValid:
    """The validator reports VEND VALID: journal the credit, then call ``acknowledge_vend``."""

    device: str
    value: int


@dataclass(frozen=True)
class BillReturned:
    device: str
    value: int | None


CashEvent = (
    Credit | Rejected | Fault | DeviceReset | DeviceReady | Escrow | VendValid | BillReturned
)


class CoinAcceptor(Protocol):
    name: str

    def start(self) -> None: ...

    def denominations(self) -> frozenset[int]: ...

    def set_enabled(self, values: frozenset[int]) -> None:
        """Accept exactly these values; an empty set inhibits everything."""

    def poll(self) -> list[CashEvent]: ...

    def resume_after(self, counter: int | None) -> None:
        """The last event counter the journal holds: later buffered events are reported."""

    @property
    def counter(self) -> int | None:
        """The last event counter handled (None before the first poll)."""

    def close(self) -> None: ...


@dataclass(frozen=True)
class HopperStatus:
    event_counter: int
    remaining: int  # coins still to pay in the current payout
    paid: int  # coins paid in the last payout
    unpaid: int  # coins of the last payout not paid (stopped, empty, power loss)


@dataclass(frozen=True)
class PayoutResult:
    requested: int
    paid: int
    fault: str | None = None  # None: paid == requested

    @property
    def unpaid(self) -> int:
        return self.requested - self.paid


class Hopper(Protocol):
    name: str
    value: int

    def start(self) -> None: ...

    def status(self) -> HopperStatus: ...

    def dispense(self, count: int) -> PayoutResult:
        """Pay ``count`` coins and verify against the hopper's status.

        Raises :class:`~drivers.coin.errors.PayoutUncertain` when it cannot tell how many
        coins came out (the hopper stopped answering): never retried blindly.
        """

    def emergency_stop(self) -> int: ...

    def close(self) -> None: ...


class PowerUp(Enum):
    NORMAL = "normal"
    BILL_IN_ACCEPTOR = "bill_in_acceptor"  # 41: the bill goes back, it was never money
    BILL_IN_STACKER = "bill_in_stacker"  # 42: money only if the journal asked for a stack
    VEND_VALID = "vend_valid"  # VEND VALID still unacknowledged from before we connected


class BillValidator(Protocol):
    name: str
    power_up_seen: PowerUp | None  # the last power-up status, set by start() and poll()

    def start(self) -> PowerUp: ...

    def denominations(self) -> frozenset[int]: ...

    def set_enabled(self, values: frozenset[int]) -> None: ...

    def poll(self) -> list[CashEvent]: ...

    def stack(self) -> None: ...

    def return_bill(self) -> None: ...

    def acknowledge_vend(self) -> None: ...

    def close(self) -> None: ...
