"""A simulated JCM ID-003 bill validator: a state machine advanced by the host's polls.

Each status request moves a bill one step (accepting -> escrow; stacking -> VEND VALID, held
until the host's ACK -> stacked -> idle), so tests are deterministic without wall-clock timers.
:meth:`SimValidator.peek` tells what the next status request will answer without advancing;
the wire model (`id003_wire.py`) uses it to announce status changes with ENQ in interrupt mode.
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

POWER_UPS = frozenset(
    {Status.POWER_UP, Status.POWER_UP_BILL_IN_ACCEPTOR, Status.POWER_UP_BILL_IN_STACKER}
)
IDLE_STATES = frozenset({Status.IDLING, Status.DISABLED, Status.INITIALIZE})

# Communication modes (C2): polling, and interrupt mode 1 (ENQ on every status change).
# Interrupt mode 2 is refused with INVALID COMMAND: the public material names it but does not
# say how it differs from mode 1, and a simulator should not invent it.
POLLING = 0x00
INTERRUPT_1 = 0x01

# Setting command -> (its read-back command, data length, power-up value). Bit meanings from
# public host code: C0/C1 one bit per escrow code from 0x61 (1 = disabled / high security),
# C3 00 enable / 01 inhibit, C4 one bit per insertion direction (1 = refused), C5 optional
# functions, C6 barcode type + character count, C7 bit 0 inhibits bills, bit 1 tickets.
# Security, direction, optional functions and the ticket settings are kept, echoed and read
# back; no tickets or insertion directions are simulated.
SETTINGS: dict[int, tuple[int, int, bytes]] = {
    Cmd.SET_DENOMINATIONS: (Cmd.GET_DENOMINATIONS, 2, b"\xff\xff"),
    Cmd.SET_SECURITY: (0x81, 2, b"\x00\x00"),
    Cmd.SET_COMM_MODE: (0x82, 1, bytes([POLLING])),
    Cmd.SET_INHIBIT: (Cmd.GET_INHIBIT, 1, b"\x01"),
    Cmd.SET_DIRECTION: (0x84, 1, b"\x00"),
    Cmd.SET_OPTIONAL: (0x85, 2, b"\x00\x00"),
    0xC6: (0x86, 2, b"\x01\x12"),  # barcode function: interleaved 2 of 5, 18 characters
    0xC7: (0x87, 1, b"\x02"),  # barcode inhibit: bills accepted, tickets refused
}
READ_BACKS: dict[int, int] = {read: cmd for cmd, (read, _, _) in SETTINGS.items()}
GET_BOOT_VERSION = 0x89
VERSION = b"KOFU-SIM ID003 V1.1"
BOOT_VERSION = b"KOFU-SIM BOOT V1.0"


def _power_up_settings() -> dict[int, bytes]:
    return {cmd: default for cmd, (_, _, default) in SETTINGS.items()}


@dataclass
class SimValidator:
    table: dict[int, tuple[int, int, int]] = field(default_factory=lambda: dict(DEFAULT_TABLE))
    state: int = Status.POWER_UP
    data: bytes = b""
    settings: dict[int, bytes] = field(default_factory=_power_up_settings)
    bills: collections.deque[tuple[int, str]] = field(default_factory=collections.deque)
    escrow: int | None = None  # value of the bill in the head
    stacked_total: int = 0  # yen in the cash box
    stacked_count: int = 0
    stacker_capacity: int = 500
    jammed: bool = False
    stacker_open: bool = False
    cheat_next: bool = False
    escrow_timeout_polls: int = 50  # real units return an undecided bill after ~10 s
    initializing: bool = False  # a reset was ACKed; the next status request says INITIALIZE
    line_inhibit: bool = False  # the inhibit input (the coprocessor holds it, host down)
    _escrow_polls: int = 0
    _after: list[tuple[int, bytes]] = field(default_factory=list)

    # -- settings --------------------------------------------------------------------------
    @property
    def inhibited(self) -> bool:
        return bool(self.settings[Cmd.SET_INHIBIT][0] & 1)

    @inhibited.setter
    def inhibited(self, on: bool) -> None:
        self.settings[Cmd.SET_INHIBIT] = b"\x01" if on else b"\x00"

    @property
    def mask(self) -> int:
        return int.from_bytes(self.settings[Cmd.SET_DENOMINATIONS], "little")

    @mask.setter
    def mask(self, value: int) -> None:
        self.settings[Cmd.SET_DENOMINATIONS] = value.to_bytes(2, "little")

    @property
    def comm_mode(self) -> int:
        return self.settings[Cmd.SET_COMM_MODE][0]

    def code_of(self, value: int) -> int | None:
        for code, (_, v, e) in self.table.items():
            if v * 10**e == value:
                return code
        return None

    def _idle(self) -> int:
        return Status.DISABLED if self.inhibited else Status.IDLING

    def _stacker_full(self) -> bool:
        return self.stacked_count >= self.stacker_capacity

    def power_cut(self) -> None:
        if self.state in (Status.STACKING, Status.VEND_VALID) and self.escrow is not None:
            self._stack_now()
            self.state = Status.POWER_UP_BILL_IN_STACKER
        elif self.escrow is not None:
            self.state = Status.POWER_UP_BILL_IN_ACCEPTOR
        else:
            self.state = Status.POWER_UP
        self.data = b""
        self.settings = _power_up_settings()
        self.initializing = False
        self._after = []

    def _stack_now(self) -> None:
        assert self.escrow is not None
        self.stacked_total += self.escrow
        self.stacked_count += 1

    # -- status ----------------------------------------------------------------------------
    def peek(self) -> tuple[int, bytes]:
        """What the next status request answers; changes nothing."""
        st, data = self.state, self.data
        if st in POWER_UPS:
            return st, b""
        if self.initializing:
            return Status.INITIALIZE, b""
        if self._after:
            return st, data
        if self.jammed:
            return Status.ACCEPTOR_JAM, b""
        if self.stacker_open:
            return Status.STACKER_OPEN, b""
        if self._stacker_full():
            return Status.STACKER_FULL, b""
        if self.cheat_next:
            return Status.CHEATED, b""
        if st == Status.ESCROW and self._escrow_polls >= self.escrow_timeout_polls:
            return Status.RETURNING, b""
        if st in IDLE_STATES:
            return st, b""
        return st, data

    def status(self) -> tuple[int, bytes]:
        """Reply to a status request and advance one step."""
        reply = self.peek()
        self._advance()
        return reply

    def _advance(self) -> None:
        st = self.state
        if st in POWER_UPS:
            return
        if self.initializing:
            # INITIALIZE is shown even with a fault present: it is the host's cue to re-send
            # its settings. The fault shows from the next status request on.
            self.initializing = False
            return
        if self._after:
            self.state, self.data = self._after.pop(0)
            return
        if self.jammed or self.stacker_open or self._stacker_full():
            return
        if self.cheat_next:
            self.cheat_next = False
            return
        if st == Status.ESCROW:
            self._escrow_polls += 1
            if self._escrow_polls > self.escrow_timeout_polls:
                # Nobody decided in time: the unit gives the bill back by itself.
                self.escrow = None
                self._escrow_polls = 0
                self._sequence((Status.RETURNING, b""), (self._idle(), b""))
            return
        if st in IDLE_STATES:
            self.state = self._idle()
            # A waiting customer feeds the next bill once the validator takes bills at all.
            self.draw_in()

    def draw_in(self) -> bool:
        """Take the next waiting bill into the head if the validator is idle and enabled.
        Polls do it while idle; in interrupt mode nobody polls, so the wire model calls it
        when a bill is inserted. True when a bill was taken."""
        if (
            self.state in (Status.IDLING, Status.DISABLED)
            and not self.initializing
            and not self._after
            and self.bills
            and not self.inhibited
            and not self.line_inhibit
            and not (self.jammed or self.stacker_open or self._stacker_full())
        ):
            self._take_bill()
            return True
        return False

    def _take_bill(self) -> None:
        value, kind = self.bills.popleft()
        code = self.code_of(value)
        if kind == "jam":
            self.jammed = True
            return
        # The bill is drawn in (ACCEPTING) before it can be judged; only then rejected.
        if kind == "counterfeit" or code is None:
            self._reject(0x72)  # magnetic pattern error
            return
        if self.mask & (1 << (code - 0x61)):
            self._reject(0x79)  # inhibited denomination
            return
        self.escrow = value
        self._escrow_polls = 0
        self._sequence((Status.ACCEPTING, b""), (Status.ESCROW, bytes([code])))

    def _reject(self, reason: int) -> None:
        self._sequence(
            (Status.ACCEPTING, b""), (Status.REJECTING, bytes([reason])), (self._idle(), b"")
        )

    def _sequence(self, *steps: tuple[int, bytes]) -> None:
        self.state, self.data = steps[0]
        self._after = list(steps[1:])

    # -- commands --------------------------------------------------------------------------
    def command(self, cmd: int, data: bytes) -> tuple[int, bytes] | None:
        """The reply frame (cmd, data) for one host command; None for no reply."""
        if cmd == Cmd.STATUS_REQUEST:
            return self.status()
        if cmd == Cmd.RESET:
            # A bill left in the head goes back to the customer; one in the stacker was
            # counted when the power failed. Settings survive a reset command (only a power
            # cut restores the power-up values), but the host sees INITIALIZE either way.
            self.jammed = False
            self.escrow = None
            self._after = []
            self.state, self.data = self._idle(), b""
            self.initializing = True
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
        if cmd in SETTINGS:
            return self._set(cmd, data)
        if cmd in READ_BACKS and not data:
            return cmd, self.settings[READ_BACKS[cmd]]
        if cmd == Cmd.GET_CURRENCY_TABLE and not data:
            return cmd, b"".join(bytes([c, *entry]) for c, entry in sorted(self.table.items()))
        if cmd == Cmd.GET_VERSION and not data:
            return cmd, VERSION
        if cmd == GET_BOOT_VERSION and not data:
            return cmd, BOOT_VERSION
        return Status.INVALID_COMMAND, b""

    def _set(self, cmd: int, data: bytes) -> tuple[int, bytes]:
        _, size, _ = SETTINGS[cmd]
        if len(data) != size:
            return Status.INVALID_COMMAND, b""
        if cmd == Cmd.SET_COMM_MODE and data[0] not in (POLLING, INTERRUPT_1):
            return Status.INVALID_COMMAND, b""
        self.settings[cmd] = bytes(data)
        if self.state in (Status.IDLING, Status.DISABLED):
            self.state = self._idle()
        return cmd, data  # setting commands are echoed
