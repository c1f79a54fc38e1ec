"""A simulated JCM ID-003 bill validator: a state machine advanced by the host's polls.

Each status request moves a bill one step (accepting -> escrow; stacking -> VEND VALID, held
until the host's ACK -> stacked -> idle), so tests are deterministic without wall-clock timers.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field

from drivers.coin.id003 import Cmd, Status

# Escrow code -> (country byte, value, exponent). The country byte of real units is
# unconfirmed; the host ignores it and takes values from this table (0x8A).
DEFAULT_TABLE: dict[int, tuple[int, int, int]] = {
    0x61: (0x00, 1, 3),
    0x62: (0x00, 2, 3),
    0x63: (0x00, 5, 3),
    0x64: (0x00, 1, 4),
}


@dataclass
class SimValidator:
    table: dict[int, tuple[int, int, int]] = field(default_factory=lambda: dict(DEFAULT_TABLE))
    state: int = Status.POWER_UP
    data: bytes = b""
    inhibited: bool = True
    mask: int = 0xFFFF
    bills: collections.deque[tuple[int, str]] = field(default_factory=collections.deque)
    escrow: int | None = None  # value of the bill in the head
    stacked_total: int = 0  # yen in the cash box
    stacked_count: int = 0
    stacker_capacity: int = 500
    jammed: bool = False
    stacker_open: bool = False
    cheat_next: bool = False
    escrow_timeout_polls: int = 50  # real units return an undecided bill after ~10 s
    _escrow_polls: int = 0
    _after: list[tuple[int, bytes]] = field(default_factory=list)

    def code_of(self, value: int) -> int | None:
        for code, (_, v, e) in self.table.items():
            if v * 10**e == value:
                return code
        return None

    def _idle(self) -> int:
        return Status.DISABLED if self.inhibited else Status.IDLING

    def power_cut(self) -> None:
        if self.state in (Status.STACKING, Status.VEND_VALID) and self.escrow is not None:
            self._stack_now()
            self.state = Status.POWER_UP_BILL_IN_STACKER
        elif self.escrow is not None:
            self.state = Status.POWER_UP_BILL_IN_ACCEPTOR
        else:
            self.state = Status.POWER_UP
        self.data = b""
        self.inhibited = True
        self.mask = 0xFFFF

    def _stack_now(self) -> None:
        assert self.escrow is not None
        self.stacked_total += self.escrow
        self.stacked_count += 1

    def status(self) -> tuple[int, bytes]:
        """Reply to a status request and advance one step."""
        st, data = self.state, self.data
        if st in (
            Status.POWER_UP,
            Status.POWER_UP_BILL_IN_ACCEPTOR,
            Status.POWER_UP_BILL_IN_STACKER,
        ):
            return st, b""
        if self._after:
            self.state, self.data = self._after.pop(0)
            return st, data
        if self.jammed:
            return Status.ACCEPTOR_JAM, b""
        if self.stacker_open:
            return Status.STACKER_OPEN, b""
        if self.stacked_count >= self.stacker_capacity:
            return Status.STACKER_FULL, b""
        if self.cheat_next:
            self.cheat_next = False
            return Status.CHEATED, b""
        if st == Status.VEND_VALID:
            return st, b""  # repeated until the host acknowledges
        if st == Status.ESCROW:
            self._escrow_polls += 1
            if self._escrow_polls > self.escrow_timeout_polls:
                # Nobody decided in time: the unit gives the bill back by itself.
                self.escrow = None
                self._escrow_polls = 0
                self._sequence((Status.RETURNING, b""), (self._idle(), b""))
                return Status.RETURNING, b""
        if st in (Status.IDLING, Status.DISABLED, Status.INITIALIZE):
            self.state = self._idle()
            # A waiting customer feeds the next bill once the validator takes bills at all.
            if self.bills and not self.inhibited:
                self._take_bill()
            return st, b""
        return st, data

    def _take_bill(self) -> None:
        value, kind = self.bills.popleft()
        code = self.code_of(value)
        if kind == "jam":
            self.jammed = True
            return
        if kind == "counterfeit" or code is None:
            self._sequence((Status.REJECTING, b"\x72"), (self._idle(), b""))
            return
        if self.inhibited or self.mask & (1 << (code - 0x61)):
            self._sequence((Status.REJECTING, b"\x79"), (self._idle(), b""))
            return
        self.escrow = value
        self._escrow_polls = 0
        self._sequence((Status.ACCEPTING, b""), (Status.ESCROW, bytes([code])))

    def _sequence(self, *steps: tuple[int, bytes]) -> None:
        self.state, self.data = steps[0]
        self._after = list(steps[1:])

    def command(self, cmd: int, data: bytes) -> tuple[int, bytes] | None:
        """The reply frame (cmd, data) for one host command; None for no reply."""
        if cmd == Cmd.STATUS_REQUEST:
            return self.status()
        if cmd == Cmd.RESET:
            # A bill left in the head goes back to the customer; one in the stacker was
            # counted when the power failed.
            self.jammed = False
            self._sequence((Status.INITIALIZE, b""))
            self.escrow = None
            return Cmd.ACK, b""
        if cmd in (Cmd.STACK_1, Cmd.STACK_2):
            if self.state != Status.ESCROW:
                return Status.INVALID_COMMAND, b""
            self._sequence((Status.STACKING, b""), (Status.VEND_VALID, b""))
            return Cmd.ACK, b""
        if cmd == Cmd.RETURN:
            if self.state not in (Status.ESCROW, Status.HOLDING):
                return Status.INVALID_COMMAND, b""
            self.escrow = None
            self._sequence((Status.RETURNING, b""), (self._idle(), b""))
            return Cmd.ACK, b""
        if cmd == Cmd.HOLD:
            return Cmd.ACK, b""
        if cmd == Cmd.ACK:
            if self.state == Status.VEND_VALID:
                self._stack_now()
                self.escrow = None
                self._sequence((Status.STACKED, b""), (self._idle(), b""))
            return None
        if cmd == Cmd.SET_DENOMINATIONS and len(data) == 2:
            self.mask = int.from_bytes(data, "little")
            return cmd, data
        if cmd == Cmd.SET_INHIBIT and len(data) == 1:
            self.inhibited = bool(data[0])
            if self.state in (Status.IDLING, Status.DISABLED):
                self.state = self._idle()
            return cmd, data
        if cmd in (Cmd.SET_SECURITY, Cmd.SET_COMM_MODE, Cmd.SET_DIRECTION, Cmd.SET_OPTIONAL):
            return cmd, data
        if cmd == Cmd.GET_CURRENCY_TABLE:
            return cmd, b"".join(bytes([c, *entry]) for c, entry in sorted(self.table.items()))
        if cmd == Cmd.GET_VERSION:
            return cmd, b"KOFU-SIM ID003 V1.0"
        if cmd == Cmd.GET_INHIBIT:
            return cmd, bytes([int(self.inhibited)])
        return Status.INVALID_COMMAND, b""
