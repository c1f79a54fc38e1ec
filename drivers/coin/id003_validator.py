"""The JCM ID-003 bill validator behind the :class:`BillValidator` interface.

A bill is money only once the validator says VEND VALID and we acknowledge it: the driver
reports :class:`VendValid`, the payment journals the credit, then calls
:meth:`acknowledge_vend`. Escrow is only a question to the host (stack or return).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from drivers.coin import id003
from drivers.coin.errors import NoReply, ProtocolViolation
from drivers.coin.id003 import Cmd, Status
from drivers.coin.interfaces import (
    BillReturned,
    CashEvent,
    DeviceReady,
    DeviceReset,
    Escrow,
    Fault,
    PowerUp,
    Rejected,
    VendValid,
)
from drivers.coin.serial_port import PARITY_EVEN, open_port

POWER_UPS = {
    Status.POWER_UP: PowerUp.NORMAL,
    Status.POWER_UP_BILL_IN_ACCEPTOR: PowerUp.BILL_IN_ACCEPTOR,
    Status.POWER_UP_BILL_IN_STACKER: PowerUp.BILL_IN_STACKER,
}


IN_MOTION = frozenset(
    {Status.ACCEPTING, Status.STACKING, Status.STACKED, Status.REJECTING, Status.RETURNING}
)


class Id003Validator:
    def __init__(
        self,
        port: Any,
        *,
        name: str = "bill",
        reply_timeout_s: float = 0.2,
        retries: int = 3,
        init_timeout_s: float = 5.0,
    ) -> None:
        self.name = name
        self._port = port
        self._parser = id003.Id003Parser()
        self.reply_timeout_s = reply_timeout_s
        self.retries = retries
        self.init_timeout_s = init_timeout_s
        self.table: dict[int, int] = {}
        self._enabled: frozenset[int] = frozenset()
        self._last_status: int | None = None
        self._escrow_value: int | None = None
        self.power_up_seen: PowerUp | None = None
        # A power-up seen by poll() is reset at the NEXT poll, after the caller journaled it:
        # the validator keeps saying "power up with bill in stacker" until it is reset, so a
        # host that dies in between reads it again at its next start instead of losing it.
        self._init_pending = False
        self._faulted = False
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: str, **kwargs: Any) -> Id003Validator:
        return cls(open_port(path, baudrate=9600, parity=PARITY_EVEN), **kwargs)

    @property
    def discarded(self) -> int:
        return self._parser.discarded

    def _exchange(self, cmd: int, data: bytes = b"", *, retry: bool = True) -> id003.Frame:
        with self._lock:
            for _ in range(self.retries if retry else 1):
                self._port.reset_input_buffer()
                self._parser.clear()
                self._port.write(id003.encode(cmd, data))
                deadline = time.monotonic() + self.reply_timeout_s
                while time.monotonic() < deadline:
                    chunk = self._port.read(self._port.in_waiting or 1)
                    if chunk:
                        frames = self._parser.feed(chunk)
                        if frames:
                            return frames[0]
        raise NoReply(f"no reply from ID-003 validator to command {cmd:#04x}")

    def _expect_ack(self, cmd: int) -> None:
        reply = self._exchange(cmd)
        if reply.cmd != Cmd.ACK:
            raise ProtocolViolation(f"ID-003 command {cmd:#04x} answered {reply.cmd:#04x}")

    def _set(self, cmd: int, data: bytes) -> None:
        reply = self._exchange(cmd, data)
        if reply.cmd != cmd or reply.data != data:
            raise ProtocolViolation(f"ID-003 setting {cmd:#04x} not echoed")

    def status(self) -> id003.Frame:
        return self._exchange(Cmd.STATUS_REQUEST)

    def start(self) -> PowerUp:
        first = self.status()
        # A bill in motion (a host restart mid-stack) settles first: VEND VALID or not.
        deadline = time.monotonic() + self.init_timeout_s
        while first.cmd in IN_MOTION and time.monotonic() < deadline:
            time.sleep(0.05)
            first = self.status()
        if first.cmd == Status.VEND_VALID:
            # A VEND VALID from before we connected is not credited blindly: the caller
            # resolves it against the journal, then acknowledges and calls start() again.
            self.power_up_seen = PowerUp.VEND_VALID
            return PowerUp.VEND_VALID
        power_up = POWER_UPS.get(first.cmd, PowerUp.NORMAL)
        self.power_up_seen = power_up
        self._initialise()
        return power_up

    def _initialise(self) -> None:
        self._expect_ack(Cmd.RESET)
        deadline = time.monotonic() + self.init_timeout_s
        while True:
            st = self.status().cmd
            if st not in (Status.INITIALIZE, Status.POWER_UP, *POWER_UPS):
                break
            if time.monotonic() > deadline:
                raise NoReply("ID-003 validator did not finish initialising")
            time.sleep(0.05)
        table = self._exchange(Cmd.GET_CURRENCY_TABLE)
        if table.cmd != Cmd.GET_CURRENCY_TABLE:
            raise ProtocolViolation("ID-003 currency table request answered with another frame")
        self.table = id003.parse_currency_table(table.data)
        self._escrow_value = None
        self._last_status = None
        self._apply_inhibits()

    def denominations(self) -> frozenset[int]:
        return frozenset(self.table.values())

    def set_enabled(self, values: frozenset[int]) -> None:
        if values != self._enabled:
            self._enabled = values
            self._apply_inhibits()

    def _apply_inhibits(self) -> None:
        self._set(Cmd.SET_DENOMINATIONS, id003.denomination_mask(self.table, self._enabled))
        self._set(Cmd.SET_INHIBIT, b"\x00" if self._enabled else b"\x01")

    def poll(self) -> list[CashEvent]:
        if self._init_pending:
            self._init_pending = False
            self._initialise()
        frame = self.status()
        st = frame.cmd
        entered = st != self._last_status
        self._last_status = st
        out: list[CashEvent] = []
        if st == Status.ESCROW:
            value = self.table.get(frame.data[0]) if frame.data else None
            if value is None:
                self.return_bill()
                out.append(Rejected(self.name, "unknown escrow code"))
            else:
                # Reported on every poll while in escrow: the host decides (again, if its
                # stack or return command was lost).
                self._escrow_value = value
                out.append(Escrow(self.name, value))
        elif st == Status.VEND_VALID and entered:
            if self._escrow_value is None:
                out.append(Fault(self.name, "vend valid without escrow"))
            else:
                out.append(VendValid(self.name, self._escrow_value))
        elif st == Status.REJECTING and entered:
            reason = frame.data[0] if frame.data else 0
            out.append(
                Rejected(self.name, id003.REJECT_REASONS.get(reason, f"reason {reason:#04x}"))
            )
        elif st == Status.RETURNING and entered:
            out.append(BillReturned(self.name, self._escrow_value))
            self._escrow_value = None
        elif st in (Status.IDLING, Status.DISABLED) and entered:
            self._escrow_value = None
            if self._faulted:
                self._faulted = False
                out.append(DeviceReady(self.name))
        elif st in id003.FAULTS and entered:
            self._faulted = True
            out.append(Fault(self.name, id003.FAULTS[st], True))
        elif st in POWER_UPS:
            self.power_up_seen = POWER_UPS[st]
            out.append(DeviceReset(self.name))
            out.append(Fault(self.name, f"power up: {POWER_UPS[st].value}", False))
            self._init_pending = True
        return out

    def stack(self) -> None:
        self._expect_ack(Cmd.STACK_1)

    def return_bill(self) -> None:
        self._expect_ack(Cmd.RETURN)

    def hold(self) -> None:
        self._expect_ack(Cmd.HOLD)

    def acknowledge_vend(self) -> None:
        with self._lock:
            self._port.write(id003.encode(Cmd.ACK))
            self._port.flush()
        self._escrow_value = None

    def close(self) -> None:
        try:
            self._set(Cmd.SET_INHIBIT, b"\x01")
        except NoReply:
            pass
        self._port.close()
