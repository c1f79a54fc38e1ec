"""The ccTalk coin acceptor (address 2) behind the :class:`CoinAcceptor` interface."""

from __future__ import annotations

import logging

from drivers.coin import coin_events
from drivers.coin.cctalk import COIN_ACCEPTOR, Header
from drivers.coin.cctalk_port import CcTalkPort
from drivers.coin.errors import CashDeviceError, NoReply, ProtocolViolation
from drivers.coin.interfaces import CashEvent, Credit, DeviceReset, Fault, Rejected

log = logging.getLogger(__name__)

POSITIONS = 16


class CcTalkCoinAcceptor:
    def __init__(
        self, port: CcTalkPort, *, address: int = COIN_ACCEPTOR, name: str = "coin"
    ) -> None:
        self.name = name
        self._port = port
        self._address = address
        self.coin_table: dict[int, tuple[str, int]] = {}  # position -> (coin id, yen)
        self.identity: dict[str, str] = {}
        self._enabled: frozenset[int] = frozenset()
        self._last: int | None = None
        self._resumed = False  # the next read follows a restart of the host (resume_after)
        self.out_of_service = False

    def start(self) -> None:
        self._port.request(self._address, Header.SIMPLE_POLL)
        for key, header in (
            ("category", Header.EQUIPMENT_CATEGORY),
            ("manufacturer", Header.MANUFACTURER),
            ("product", Header.PRODUCT_CODE),
        ):
            try:
                self.identity[key] = self._port.request(self._address, header).decode(
                    "ascii", "replace"
                )
            except NoReply:
                pass  # optional headers; unsupported ones get no reply at all
        for key, header in (
            ("serial", Header.SERIAL_NUMBER),
            ("revision", Header.SOFTWARE_REVISION),
        ):
            try:
                raw = self._port.request(self._address, header)
            except NoReply:
                continue
            self.identity[key] = raw.hex() if key == "serial" else raw.decode("ascii", "replace")
        table: dict[int, tuple[str, int]] = {}
        for pos in range(1, POSITIONS + 1):
            entry = coin_events.parse_coin_id(
                self._port.request(self._address, Header.COIN_ID, bytes([pos]))
            )
            if entry is not None:
                table[pos] = entry
        self.coin_table = table
        self._apply_inhibits()

    def denominations(self) -> frozenset[int]:
        return frozenset(v for _, v in self.coin_table.values())

    def set_enabled(self, values: frozenset[int]) -> None:
        if values != self._enabled:
            self._enabled = values
            self._apply_inhibits()

    def resume_after(self, counter: int | None) -> None:
        self._last = counter
        # the next read covers the time the host was down: events lost then are reported,
        # but they are no reason to stop taking coins now (nothing here went wrong)
        self._resumed = counter is not None

    @property
    def counter(self) -> int | None:
        return self._last

    def _apply_inhibits(self) -> None:
        values = frozenset() if self.out_of_service else self._enabled
        mask = 0
        for pos, (_, value) in self.coin_table.items():
            if value in values:
                mask |= 1 << (pos - 1)
        self._port.request(self._address, Header.MODIFY_INHIBIT, mask.to_bytes(2, "little"))
        self._port.request(self._address, Header.MODIFY_MASTER_INHIBIT, bytes([1 if mask else 0]))

    def poll(self) -> list[CashEvent]:
        data = self._port.request(self._address, Header.READ_BUFFERED_CREDIT)
        try:
            read = coin_events.parse_buffer(self._last, data)
        except ValueError as exc:
            raise ProtocolViolation(str(exc)) from exc
        out: list[CashEvent] = []
        if self._last is None:
            self._last = data[0]
            return out
        if read.reset:
            out.append(DeviceReset(self.name))
            # Devices come up inhibited: put our inhibits back before anything else.
            try:
                self._apply_inhibits()
            except CashDeviceError:
                log.warning("coin acceptor: could not re-apply inhibits after reset")
        for ev in read.new:
            out.append(self._event(ev))
        self._last = data[0]
        resumed, self._resumed = self._resumed, False
        if read.lost and resumed:
            # Coins went in while nobody polled (the host was down) and overran the buffer:
            # their value is unknown, the count is not. The clerk sees it; the acceptor, which
            # did nothing wrong, stays in service (its inhibits are set again below).
            out.append(Fault(self.name, f"lost {read.lost} events while the host was down",
                             False, data[0]))  # fmt: skip
        elif read.lost:
            out.append(Fault(self.name, f"lost {read.lost} events", True, data[0]))
            if not self.out_of_service:
                # Until a clerk has looked (a restart), it takes no more coins.
                self.out_of_service = True
                self._apply_inhibits()
        return out

    def _event(self, ev: coin_events.BufferedEvent) -> CashEvent:
        if ev.a == 0:
            name = coin_events.error_name(ev.b)
            if ev.b in coin_events.FRAUD_CODES:
                return Fault(self.name, name, False, ev.counter)
            return Rejected(self.name, name, ev.counter)
        entry = self.coin_table.get(ev.a)
        if entry is None:
            return Fault(self.name, f"credit at unknown position {ev.a}", False, ev.counter)
        return Credit(self.name, entry[1], ev.counter)

    def close(self) -> None:
        try:
            self._port.request(self._address, Header.MODIFY_MASTER_INHIBIT, b"\x00")
        except CashDeviceError:
            pass
