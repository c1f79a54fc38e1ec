"""The cash simulator: a ccTalk bus and an ID-003 validator on ptys, with a control API.

:class:`CashSim` runs one thread that serves both ptys. Tests and `kofu sim cash` script it
through its methods: insert coins and bills (genuine, counterfeit, inhibited), coin-on-string,
jams, stacker full/open, hopper empty or power cut mid-payout, dropped and corrupted replies.
"""

from __future__ import annotations

import os
import selectors
import threading
import time
from collections.abc import Callable
from typing import Self

from drivers.coin import cctalk, id003
from drivers.coin.cctalk import Checksum
from drivers.coin.errors import FrameError
from sim.cash.cctalk_devices import NoAnswer, SimCoinAcceptor, SimHopper
from sim.cash.id003_device import SimValidator
from sim.cash.pty_bus import Pty


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


class CcTalkBusModel:
    """The single wire: echo every byte, then let the addressed slave answer."""

    def __init__(self, checksum: Checksum = Checksum.SUM8) -> None:
        self.checksum = checksum
        self.slaves: dict[int, SimCoinAcceptor | SimHopper] = {}
        self.faults = ReplyFaults()
        self._buf = bytearray()
        self._last = 0.0
        self.on_credit_reply: Callable[[int], None] | None = None

    def receive(self, data: bytes, now: float) -> bytes:
        out = bytearray(data)  # the echo every UART on the wire reads back
        if now - self._last > cctalk.INTER_BYTE_GAP_S:
            self._buf.clear()
        self._last = now
        self._buf.extend(data)
        while len(self._buf) >= 5:
            total = self._buf[1] + 5
            if len(self._buf) < total:
                break
            raw = bytes(self._buf[:total])
            try:
                frame = cctalk.decode(raw, self.checksum)
            except FrameError:
                del self._buf[0]  # slaves ignore what does not checksum
                continue
            del self._buf[:total]
            reply = self._answer(frame)
            if reply is not None:
                out += reply
        return bytes(out)

    def _answer(self, frame: cctalk.Frame) -> bytes | None:
        slave = self.slaves.get(frame.dest)
        if slave is None:
            return None
        try:
            data = slave.handle(frame.header, frame.data)
        except NoAnswer:
            return None
        header = cctalk.NAK if data is None else cctalk.ACK
        reply = cctalk.encode(
            cctalk.Frame(cctalk.HOST, frame.dest, header, data or b""), self.checksum
        )
        if (
            frame.header == cctalk.Header.READ_BUFFERED_CREDIT
            and self.on_credit_reply is not None
            and data
        ):
            self.on_credit_reply(data[0])
        return self.faults.apply(reply, frame.header)


class Id003Model:
    def __init__(self, validator: SimValidator) -> None:
        self.validator = validator
        self.parser = id003.Id003Parser()
        self.faults = ReplyFaults()
        self.deaf_to: dict[int, int] = {}  # command -> how many more to lose on the way in

    def receive(self, data: bytes) -> bytes:
        out = bytearray()
        for frame in self.parser.feed(data):
            if self.deaf_to.get(frame.cmd, 0) > 0:
                self.deaf_to[frame.cmd] -= 1
                continue  # the command never reached the unit
            reply = self.validator.command(frame.cmd, frame.data)
            if reply is not None:
                damaged = self.faults.apply(id003.encode(*reply), frame.cmd)
                if damaged is not None:
                    out += damaged
        return bytes(out)


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
        self.bus = CcTalkBusModel(checksum)
        self.bus.slaves[self.acceptor.address] = self.acceptor
        for addr, hopper in self.hoppers.items():
            self.bus.slaves[addr] = hopper
        self.validator = SimValidator()
        self.id003 = Id003Model(self.validator)
        self.lock = threading.RLock()
        self._cctalk_pty = Pty()
        self._id003_pty = Pty()
        self.cctalk_path = self._cctalk_pty.path
        self.id003_path = self._id003_pty.path
        self._wake_r, self._wake_w = os.pipe()
        self._thread: threading.Thread | None = None
        self._stop = False
        self.credit_reply_times: list[tuple[int, float]] = []  # (counter, monotonic) on the wire

    # -- life cycle --------------------------------------------------------------------------
    def start(self) -> Self:
        self._thread = threading.Thread(target=self._serve, name="cash-sim", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop = True
        os.write(self._wake_w, b"x")
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._cctalk_pty.close()
        self._id003_pty.close()
        os.close(self._wake_r)
        os.close(self._wake_w)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self) -> None:
        sel = selectors.DefaultSelector()
        sel.register(self._cctalk_pty.master, selectors.EVENT_READ, "cctalk")
        sel.register(self._id003_pty.master, selectors.EVENT_READ, "id003")
        sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        try:
            while not self._stop:
                for key, _ in sel.select():
                    if key.data == "wake":
                        return
                    if key.data == "cctalk":
                        data = self._cctalk_pty.read()
                        if data:
                            with self.lock:
                                reply = self.bus.receive(data, time.monotonic())
                            self._cctalk_pty.write(reply)
                    else:
                        data = self._id003_pty.read()
                        if data:
                            with self.lock:
                                reply = self.id003.receive(data)
                            if reply:
                                self._id003_pty.write(reply)
                if not sel.get_map():
                    return
        finally:
            sel.close()

    # -- control API -------------------------------------------------------------------------
    def insert_coin(self, value: int, kind: str = "genuine", issue: str | None = None) -> bool:
        """kind: genuine, counterfeit, slug, string (coin on string). True when taken."""
        with self.lock:
            return self.acceptor.insert(value, kind, issue)

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

    def jam(self, on: bool = True) -> None:
        with self.lock:
            self.validator.jammed = on

    def stacker_full(self) -> None:
        with self.lock:
            self.validator.stacker_capacity = self.validator.stacked_count

    def stacker_open(self, on: bool = True) -> None:
        with self.lock:
            self.validator.stacker_open = on

    def cheat(self) -> None:
        with self.lock:
            self.validator.cheat_next = True

    def validator_power_cut(self) -> None:
        with self.lock:
            self.validator.power_cut()

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
            faults = self.bus.faults if wire == "cctalk" else self.id003.faults
            faults.drop += count
            faults.only = only

    def corrupt_replies(self, wire: str, count: int = 1, only: int | None = None) -> None:
        with self.lock:
            faults = self.bus.faults if wire == "cctalk" else self.id003.faults
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
        (self._cctalk_pty if wire == "cctalk" else self._id003_pty).write(data)

    def totals(self) -> dict[str, int]:
        """Money that physically moved: taken in and paid out, in yen."""
        with self.lock:
            return {
                "coins_in": self.acceptor.accepted_total,
                "bills_in": self.validator.stacked_total,
                "paid_out": sum(h.paid_total * h.value for h in self.hoppers.values()),
            }
