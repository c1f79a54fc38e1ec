"""The cash simulator: a ccTalk bus and an ID-003 validator on ptys, with a control API.

:class:`CashSim` serves each device on its own pty from its own thread (`device_wire.py`).
Tests and `kofu sim cash` script it through its methods: insert coins and bills (genuine,
counterfeit, inhibited), coin-on-string, jams, stacker full/open, hopper empty or power cut
mid-payout, dropped and corrupted replies.
"""

from __future__ import annotations

import threading
from typing import Self

from drivers.coin.cctalk import Checksum
from sim.cash.cctalk_bus import CcTalkBusModel
from sim.cash.cctalk_devices import SimCoinAcceptor, SimHopper
from sim.cash.device_wire import DeviceWire
from sim.cash.id003_device import SimValidator
from sim.cash.id003_wire import Id003Model


class ReplyFaults:
    """Pending faults on one wire: replies to drop, replies to corrupt; optionally only the
    replies to one command (header / command byte), e.g. the ACK of a dispense or a stack."""

    def __init__(self) -> None:
        self.drop = 0
        self.corrupt = 0
        self.only: int | None = None

    def apply(self, reply: bytes, request: int | None = None) -> bytes | None:
        if self.only is not None and request != self.only:
            return reply
        if self.drop:
            self.drop -= 1
            return None
        if self.corrupt:
            self.corrupt -= 1
            damaged = bytearray(reply)
            damaged[len(damaged) // 2] ^= 0x5A
            return bytes(damaged)
        return reply


class CashSim:
    def __init__(
        self,
        hoppers: dict[int, tuple[int, int]] | None = None,
        *,
        checksum: Checksum = Checksum.SUM8,
    ) -> None:
        """``hoppers``: address -> (coin value, coins loaded); default 100 yen at 3, 500 at 4."""
        self.acceptor = SimCoinAcceptor()
        layout = hoppers if hoppers is not None else {3: (100, 50), 4: (500, 20)}
        self.hoppers = {
            addr: SimHopper(addr, value, coins, serial=bytes([0x10 + addr, 0x20, 0x30]))
            for addr, (value, coins) in layout.items()
        }
        self.cctalk_faults = ReplyFaults()
        self.bus = CcTalkBusModel(checksum, faults=self.cctalk_faults)
        self.bus.slaves[self.acceptor.address] = self.acceptor
        for addr, hopper in self.hoppers.items():
            self.bus.slaves[addr] = hopper
        self.validator = SimValidator()
        self.id003 = Id003Model(self.validator, ReplyFaults())
        self.lock = threading.RLock()
        # A wire (pty + serving thread) per device: a host that stops reading one stalls
        # nothing else.
        self.wires = {
            "cctalk": DeviceWire("cctalk", self._answer_cctalk),
            "id003": DeviceWire("id003", self._answer_id003),
        }
        self.cctalk_path = self.wires["cctalk"].path
        self.id003_path = self.wires["id003"].path
        self.credit_reply_times: list[tuple[int, float]] = []  # (counter, monotonic) on the wire

    # -- life cycle --------------------------------------------------------------------------
    def start(self) -> Self:
        for wire in self.wires.values():
            wire.start()
        return self

    def stop(self) -> None:
        for wire in self.wires.values():
            wire.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _answer_cctalk(self, data: bytes, now: float) -> bytes:
        with self.lock:
            return self.bus.receive(data, now)

    def _answer_id003(self, data: bytes, now: float) -> bytes:
        with self.lock:
            return self.id003.receive(data, now)

    # -- control API -------------------------------------------------------------------------
    def _validator_event(self) -> None:
        """Something happened at the validator itself: in interrupt mode it says so (ENQ)."""
        out = self.id003.tick()
        if out:
            self.wires["id003"].send(out)

    def insert_coin(self, value: int, kind: str = "genuine", issue: str | None = None) -> bool:
        """kind: genuine, counterfeit, slug, string (coin on string). True when taken."""
        with self.lock:
            return self.acceptor.insert(value, kind, issue)

    def set_inhibit_lines(self, on: bool) -> None:
        """The coprocessor's inhibit-all lines to the acceptor and the validator (held while
        no host is linked to it): neither takes money while they are."""
        with self.lock:
            self.acceptor.line_inhibit = on
            self.validator.line_inhibit = on

    def queue_coins(self, *values: int, kind: str = "genuine") -> None:
        """A customer waiting with these coins: each drops in once its slot is enabled."""
        with self.lock:
            self.acceptor.queued.extend((v, kind) for v in values)

    def power_cycle_acceptor(self) -> None:
        with self.lock:
            self.acceptor.power_cycle()

    def insert_bill(self, value: int, kind: str = "genuine") -> None:
        """kind: genuine, counterfeit, jam (jams in the acceptor)."""
        with self.lock:
            self.validator.bills.append((value, kind))
            self._validator_event()

    def jam(self, on: bool = True) -> None:
        with self.lock:
            self.validator.jammed = on
            self._validator_event()

    def stacker_full(self) -> None:
        with self.lock:
            self.validator.stacker_capacity = self.validator.stacked_count
            self._validator_event()

    def stacker_open(self, on: bool = True) -> None:
        with self.lock:
            self.validator.stacker_open = on
            self._validator_event()

    def cheat(self) -> None:
        with self.lock:
            self.validator.cheat_next = True
            self._validator_event()

    def validator_power_cut(self) -> None:
        with self.lock:
            self.validator.power_cut()
            self._validator_event()

    def hopper_empty_after(self, address: int, coins: int) -> None:
        with self.lock:
            self.hoppers[address].empty_after = coins

    def hopper_power_cut_after(self, address: int, coins: int) -> None:
        with self.lock:
            self.hoppers[address].cut_after = coins

    def hopper_power_on(self, address: int) -> None:
        with self.lock:
            self.hoppers[address].power_on()

    def drop_replies(self, wire: str, count: int = 1, only: int | None = None) -> None:
        """Drop the next ``count`` replies on a wire (only those to command ``only``)."""
        with self.lock:
            faults = self.cctalk_faults if wire == "cctalk" else self.id003.faults
            faults.drop += count
            faults.only = only

    def corrupt_replies(self, wire: str, count: int = 1, only: int | None = None) -> None:
        with self.lock:
            faults = self.cctalk_faults if wire == "cctalk" else self.id003.faults
            faults.corrupt += count
            faults.only = only

    def lose_commands(self, cmd: int, count: int) -> None:
        """The next ``count`` ID-003 commands ``cmd`` never reach the validator."""
        with self.lock:
            self.id003.deaf_to[cmd] = self.id003.deaf_to.get(cmd, 0) + count

    def escrow_timeout(self, polls: int) -> None:
        with self.lock:
            self.validator.escrow_timeout_polls = polls

    def inject(self, wire: str, data: bytes) -> None:
        """Unsolicited bytes towards the host (line noise)."""
        self.wires[wire].send(data)

    def dropped(self) -> dict[str, int]:
        """Bytes each wire lost because its host was not reading (a full pty)."""
        return {name: wire.dropped for name, wire in self.wires.items()}

    def totals(self) -> dict[str, int]:
        """Money that physically moved: taken in and paid out, in yen."""
        with self.lock:
            return {
                "coins_in": self.acceptor.accepted_total,
                "bills_in": self.validator.stacked_total,
                "paid_out": sum(h.paid_total * h.value for h in self.hoppers.values()),
            }
