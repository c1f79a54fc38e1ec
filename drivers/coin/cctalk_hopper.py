"""A ccTalk change hopper (address 3 and up, one per denomination) behind :class:`Hopper`.

A payout is verified against the hopper's own status (166), and a dispense whose reply was
lost is judged by the hopper's event counter, never re-sent blindly.

Vendors differ on whether a refused dispense advances that counter. An accepted dispense
always leaves ``paid + unpaid == count`` and resets the figures; a refusal leaves the last
payout's figures. So a counter that moved is trusted only together with figures of this
dispense, and where those cannot tell (the same count fully paid twice) the hopper's lifetime
dispense count (168) decides; without it the outcome is reported uncertain, never guessed.
"""

from __future__ import annotations

import time

from drivers.coin.cctalk import FIRST_HOPPER, Header
from drivers.coin.cctalk_port import CcTalkPort
from drivers.coin.errors import CashDeviceError, Nak, NoReply, PayoutUncertain, ProtocolViolation
from drivers.coin.interfaces import HopperStatus, PayoutResult

ENABLE_CODE = 0xA5


class CcTalkHopper:
    def __init__(
        self,
        port: CcTalkPort,
        *,
        value: int,
        address: int = FIRST_HOPPER,
        name: str | None = None,
        status_interval_s: float = 0.1,
        stall_timeout_s: float = 3.0,
    ) -> None:
        self.name = name or f"hopper{address}"
        self.value = value
        self._port = port
        self._address = address
        self.serial = b""
        self.status_interval_s = status_interval_s
        self.stall_timeout_s = stall_timeout_s
        self._has_dispense_count = True

    def start(self) -> None:
        self.serial = self._port.request(self._address, Header.SERIAL_NUMBER)
        if len(self.serial) != 3:
            raise ProtocolViolation("hopper serial number must be 3 bytes")
        self.enable()

    def enable(self) -> None:
        # Hoppers come up disabled after every reset: enable before each payout.
        self._port.request(self._address, Header.ENABLE_HOPPER, bytes([ENABLE_CODE]))

    def status(self) -> HopperStatus:
        data = self._port.request(self._address, Header.HOPPER_STATUS)
        if len(data) != 4:
            raise ProtocolViolation("hopper status must be 4 bytes")
        return HopperStatus(data[0], data[1], data[2], data[3])

    def dispense_count(self) -> int | None:
        """Coins this hopper has ever paid (168), or None if it lacks the command."""
        if not self._has_dispense_count:
            return None
        try:
            data = self._port.request(self._address, Header.DISPENSE_COUNT)
        except NoReply:
            # Unsupported headers get no reply: ask once, not on every payout.
            self._has_dispense_count = False
            return None
        if len(data) != 3:
            raise ProtocolViolation("hopper dispense count must be 3 bytes")
        return int.from_bytes(data, "little")

    def hopper_flags(self) -> bytes:
        """The test-hopper registers (163): register 1 bit 6 power-up seen, bit 7 disabled."""
        data = self._port.request(self._address, Header.TEST_HOPPER)
        if not data:
            raise ProtocolViolation("test hopper must return at least one register")
        return data

    def dispense(self, count: int) -> PayoutResult:
        if not 1 <= count <= 255:
            raise ValueError("a hopper pays 1..255 coins per dispense")
        self.enable()
        before = self.status()
        lifetime_before = self.dispense_count()
        try:
            self._port.request(
                self._address, Header.DISPENSE, self.serial + bytes([count]), retry=False
            )
        except NoReply:
            # Did the command reach the hopper? Its event counter and figures say so.
            try:
                now = self.status()
            except NoReply as exc:
                raise PayoutUncertain("hopper silent after dispense", 0) from exc
            if now.event_counter == before.event_counter:
                return PayoutResult(count, 0, "dispense not received")
            if not self._accepted(count, before, now, lifetime_before):
                return PayoutResult(count, 0, "dispense refused")
        except Nak:
            # Whether or not this hopper counted the refusal, the next dispense reads a fresh
            # counter first, so nothing here depends on it.
            return PayoutResult(count, 0, "dispense refused")
        return self._follow(count, before.event_counter)

    def _accepted(
        self, count: int, before: HopperStatus, now: HopperStatus, lifetime_before: int | None
    ) -> bool:
        """The counter moved but the reply was lost: a payout of ours, or a counted refusal?"""
        if now.paid + now.unpaid != count:
            return False  # an accepted dispense always accounts for exactly `count` coins
        if now.remaining:
            return True
        if (now.paid, now.unpaid) != (before.paid, before.unpaid):
            return True
        lifetime_now = self.dispense_count() if lifetime_before is not None else None
        if lifetime_before is None or lifetime_now is None:
            raise PayoutUncertain("dispense reply lost; hopper figures cannot tell", 0)
        return lifetime_now != lifetime_before

    def _follow(self, count: int, counter_before: int) -> PayoutResult:
        last_paid = 0
        last_progress = time.monotonic()
        silent_since: float | None = None
        while True:
            time.sleep(self.status_interval_s)
            try:
                st = self.status()
            except CashDeviceError as exc:
                silent_since = silent_since or time.monotonic()
                if time.monotonic() - silent_since > self.stall_timeout_s:
                    raise PayoutUncertain(
                        "hopper stopped answering during payout", last_paid
                    ) from exc
                continue
            silent_since = None
            if st.event_counter == counter_before:
                # Still the old payout's figures: the dispense has not registered yet.
                if time.monotonic() - last_progress > self.stall_timeout_s:
                    return PayoutResult(count, 0, "dispense not started")
                continue
            if st.paid != last_paid:
                last_paid = st.paid
                last_progress = time.monotonic()
            if st.remaining == 0:
                if st.unpaid == 0 and st.paid == count:
                    return PayoutResult(count, count)
                return PayoutResult(count, st.paid, "hopper empty or jammed")
            if time.monotonic() - last_progress > self.stall_timeout_s:
                unpaid = self.emergency_stop()
                return PayoutResult(count, count - unpaid, "payout stalled")

    def emergency_stop(self) -> int:
        data = self._port.request(self._address, Header.EMERGENCY_STOP)
        return data[0] if data else 0

    def close(self) -> None:
        pass
