"""Simulated ccTalk slaves: a coin acceptor (address 2) and change hoppers (3 and up).

Each model takes a decoded request frame and returns its reply data, ``None`` for NAK, or
raises :class:`NoAnswer` to stay silent (unsupported header, or no power). Each answers every
header the ccTalk generic specification makes mandatory for its category, with the replies of
the model it imitates (:mod:`sim.cash.cctalk_models`: a Money Controls SR5i acceptor and SCH2
hoppers).
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field

from drivers.coin.cctalk import Header
from sim.cash import cctalk_models as models
from sim.cash.cctalk_models import AcceptorModel, HopperModel, Identity


class NoAnswer(Exception):
    """The slave does not reply (unknown header, or unpowered)."""


NAK = None

# The simulated coin table. Position 5 is the bi-colour 500-yen coin of 2021; which issue
# letter real acceptors use for it is unconfirmed, which is why the host reads the table.
DEFAULT_COIN_TABLE = {1: "JP010A", 2: "JP050A", 3: "JP100A", 4: "JP500A", 5: "JP500B"}

# Error codes the control API injects.
REJECT = 1
INHIBITED = 2
COIN_ON_STRING = 20
SLUG = 25


def next_counter(counter: int) -> int:
    return 1 if counter == 255 else counter + 1


def identify(identity: Identity, header: int) -> bytes | None:
    """The reply to a core or core-plus identification header, or None if it is not one."""
    replies = {
        Header.SIMPLE_POLL: b"",
        Header.MANUFACTURER: identity.manufacturer,
        Header.EQUIPMENT_CATEGORY: identity.category,
        Header.PRODUCT_CODE: identity.product,
        Header.BUILD_CODE: identity.build,
        Header.SOFTWARE_REVISION: identity.software_revision,
        Header.COMMS_REVISION: identity.comms_revision,
    }
    return replies.get(header)


@dataclass
class SimCoinAcceptor:
    address: int = 2
    table: dict[int, str] = field(default_factory=lambda: dict(DEFAULT_COIN_TABLE))
    serial: bytes = b"\x11\x22\x33"
    counter: int = 0
    buffer: list[tuple[int, int]] = field(default_factory=lambda: [(0, 0)] * 5)
    mask: int = 0
    master: bool = False
    accepted_total: int = 0  # yen actually taken into the cash box
    queued: collections.deque[tuple[int, str]] = field(default_factory=collections.deque)
    model: AcceptorModel = models.SR5I
    line_inhibit: bool = False  # the inhibit-all input (the coprocessor holds it, host down)

    def _event(self, a: int, b: int) -> None:
        self.counter = next_counter(self.counter)
        self.buffer = [(a, b), *self.buffer[:4]]

    def position_of(self, value: int, issue: str | None = None) -> int | None:
        for pos, cid in sorted(self.table.items()):
            if int(cid[2:5]) == value and (issue is None or cid[5] == issue):
                return pos
        return None

    def issues_of(self, value: int) -> list[str]:
        """Issue letters of the coins worth ``value`` in table order (oldest issue first)."""
        return [cid[5] for _, cid in sorted(self.table.items()) if int(cid[2:5]) == value]

    def enabled(self, pos: int) -> bool:
        if self.line_inhibit:  # the inhibit-all input held by the coprocessor
            return False
        return self.master and bool(self.mask & (1 << (pos - 1)))

    def insert(self, value: int, kind: str = "genuine", issue: str | None = None) -> bool:
        """A coin goes in now. True when it was taken as money."""
        if kind == "counterfeit":
            self._event(0, REJECT)
            return False
        if kind == "slug":
            self._event(0, SLUG)
            return False
        if kind == "string":
            self._event(0, COIN_ON_STRING)
            return False
        pos = self.position_of(value, issue)
        if pos is None:
            self._event(0, REJECT)  # 1 and 5 yen: not in the table, rejected
            return False
        if not self.enabled(pos):
            self._event(0, INHIBITED)
            return False
        self._event(pos, 1)
        self.accepted_total += value
        return True

    def power_cycle(self) -> None:
        self.counter = 0
        self.buffer = [(0, 0)] * 5
        self.mask = 0
        self.master = False

    def handle(self, header: int, data: bytes) -> bytes | None:
        if header == Header.READ_BUFFERED_CREDIT:
            # A waiting customer drops the next queued coin once the slot is open.
            if self.queued:
                value, kind = self.queued[0]
                pos = self.position_of(value)
                if kind != "genuine" or (pos is not None and self.enabled(pos)):
                    self.queued.popleft()
                    self.insert(value, kind)
            return bytes([self.counter]) + b"".join(bytes(e) for e in self.buffer)
        known = identify(self.model.identity, header)
        if known is not None:
            return known
        if header == Header.DATABASE_VERSION:
            return bytes([self.model.database_version])
        if header == Header.POLLING_PRIORITY:
            return self.model.polling_priority
        if header == Header.REQUEST_STATUS:
            return b"\x00"  # coin return and cash-box mechanisms in place
        if header == Header.SELF_CHECK:
            return b"\x00"  # fault code 0: no fault
        if header == Header.SERIAL_NUMBER:
            return self.serial
        if header == Header.COIN_ID:
            if len(data) != 1:
                return NAK
            return self.table.get(data[0], "......").encode("ascii")
        if header == Header.MODIFY_INHIBIT:
            if len(data) != 2:
                return NAK
            self.mask = int.from_bytes(data, "little")
            return b""
        if header == Header.REQUEST_INHIBIT:
            return self.mask.to_bytes(2, "little")
        if header == Header.MODIFY_MASTER_INHIBIT:
            if len(data) != 1:
                return NAK
            self.master = bool(data[0] & 1)
            return b""
        if header == Header.REQUEST_MASTER_INHIBIT:
            return bytes([int(self.master)])
        if header == Header.RESET:
            self.power_cycle()
            return b""
        raise NoAnswer


@dataclass
class SimHopper:
    address: int
    value: int
    coins: int = 100
    serial: bytes = b"\x01\x02\x03"
    enabled: bool = False
    powered: bool = True
    counter: int = 0  # kept across power loss, like paid/unpaid (EEPROM)
    remaining: int = 0
    paid: int = 0
    unpaid: int = 0
    paid_total: int = 0  # coins that physically came out, over the simulator's life
    empty_after: int | None = None  # fault: the hopper runs dry after this many coins
    cut_after: int | None = None  # fault: power fails after this many coins of a payout
    model: HopperModel = models.SCH2
    power_up_seen: bool = True  # 163 flag; cleared only by a software reset (header 1)
    power_down_in_payout: bool = False
    payout_timed_out: bool = False

    def power_on(self) -> None:
        self.powered = True
        self.enabled = False
        self.remaining = 0  # never resumes a payout by itself
        self.power_up_seen = True

    def software_reset(self) -> None:
        self.enabled = False
        self.remaining = 0
        self.power_up_seen = False
        self.power_down_in_payout = False
        self.payout_timed_out = False

    def test_registers(self) -> bytes:
        reg1 = (
            (models.FLAG_PAYOUT_TIMEOUT if self.payout_timed_out else 0)
            | (models.FLAG_POWER_UP if self.power_up_seen else 0)
            | (0 if self.enabled else models.FLAG_PAYOUT_DISABLED)
        )
        reg3 = models.FLAG_POWER_DOWN_IN_PAYOUT if self.power_down_in_payout else 0
        return bytes([reg1, 0, reg3])[: self.model.test_registers]

    def _pay_one(self) -> None:
        if self.remaining == 0:
            return
        if self.coins == 0 or self.empty_after == 0:
            self.remaining = 0  # stalls: unpaid stays as the host's open debt
            self.payout_timed_out = True
            return
        self.coins -= 1
        self.paid += 1
        self.unpaid -= 1
        self.remaining -= 1
        self.paid_total += 1
        if self.empty_after is not None:
            self.empty_after -= 1
        if self.cut_after is not None and self.paid >= self.cut_after:
            self.powered = False
            self.cut_after = None
            self.power_down_in_payout = self.remaining > 0

    def handle(self, header: int, data: bytes) -> bytes | None:
        if not self.powered:
            raise NoAnswer
        if header == Header.HOPPER_STATUS:
            self._pay_one()  # coins come out between the host's status polls
            if not self.powered:
                raise NoAnswer
            return bytes([self.counter, self.remaining, self.paid, self.unpaid])
        known = identify(self.model.identity, header)
        if known is not None:
            return known
        if header == Header.SERIAL_NUMBER:
            return self.serial
        if header == Header.RESET:
            self.software_reset()  # the ACK goes out before the reset takes effect
            return b""
        if header == Header.PAYOUT_LEVEL_STATUS:
            low = models.LEVEL_LOW if self.coins <= self.model.low_level else 0
            return bytes([models.LEVEL_LOW_SUPPORTED | low])
        if header == Header.ENABLE_HOPPER:
            self.enabled = data == b"\xa5"
            return b""
        if header == Header.DISPENSE:
            if (
                len(data) != 4
                or data[:3] != self.serial
                or not self.enabled
                or self.remaining
                or data[3] == 0
            ):
                if self.model.refusal_advances_counter:
                    # Counted, but the figures stay those of the last payout.
                    self.counter = next_counter(self.counter)
                return NAK
            self.counter = next_counter(self.counter)
            self.remaining = self.unpaid = data[3]
            self.paid = 0
            return b""
        if header == Header.EMERGENCY_STOP:
            stopped = self.remaining
            self.remaining = 0
            return bytes([stopped])
        if header == Header.DISPENSE_COUNT:
            return (self.paid_total & 0xFFFFFF).to_bytes(3, "little")
        if header == Header.TEST_HOPPER:
            return self.test_registers()
        raise NoAnswer
