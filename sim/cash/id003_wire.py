"""The validator's side of the ID-003 wire, sans-IO: host bytes in (with the time they came),
reply bytes out.

- :class:`CommandReceiver` frames the host's bytes the way a validator's UART receiver does:
  a partial message is dropped once the line has been quiet for the inter-byte timeout, so
  noise never leaves the unit waiting for bytes that will not come; noise glued to the front
  of a real command is skipped without losing the command; a whole message whose CRC fails
  is reported so the unit can answer COMMUNICATION ERROR (4AH), as the ID-003 status table
  defines for a receive error.
- :class:`Id003Model` ties the receiver to a :class:`SimValidator`: it answers commands,
  applies the scripted wire faults, and in interrupt mode (C2 01) sends ENQ whenever the status
  the host would read changes — after a command, or when :meth:`Id003Model.tick` is called
  because something happened at the unit (a bill inserted, a jam).

ENQ travels as a message, ``FC 05 05 CRC``: public host code that runs real units in
interrupt mode (lamassu-machine's ID-003 driver) parses it as a message whose command byte
is 05H and answers it with a status request.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from drivers.coin import id003
from drivers.coin.errors import FrameError
from drivers.coin.id003 import Cmd, Status
from sim.cash.id003_device import POLLING, SimValidator

# The unit's receive timeout between two bytes of one message. The public material gives no
# figure; 50 ms is ~50 byte-times at 9600 baud and shorter than any poll interval hosts use.
INTER_BYTE_TIMEOUT_S = 0.05
# The longest command a host sends (C0/C1/C5/C6 with two data bytes is 7); a sync byte
# followed by a longer length is noise, not a command to wait for.
MAX_COMMAND_LEN = 16
ENQ = 0x05


class Faults(Protocol):
    """Scripted faults on the way out (``sim.cash.server.ReplyFaults``): the reply as it
    leaves the unit, or None when it is lost."""

    def apply(self, reply: bytes, request: int | None = None) -> bytes | None: ...


class NoFaults:
    def apply(self, reply: bytes, request: int | None = None) -> bytes | None:
        return reply


F = TypeVar("F", bound=Faults)


@dataclass(frozen=True)
class BadCrc:
    """A whole message arrived but its CRC did not match."""

    raw: bytes


class CommandReceiver:
    """Host -> validator bytes in, :class:`id003.Frame` or :class:`BadCrc` out. Linear: each
    byte is looked at a bounded number of times (a candidate message is at most
    ``MAX_COMMAND_LEN`` long)."""

    def __init__(self, timeout_s: float = INTER_BYTE_TIMEOUT_S) -> None:
        self.timeout_s = timeout_s
        self._buf = bytearray()
        self._last: float | None = None
        self.dropped_partial = 0  # messages abandoned at the inter-byte timeout
        self.discarded = 0  # noise bytes skipped

    def feed(self, data: bytes, now: float) -> list[id003.Frame | BadCrc]:
        if self._buf and self._last is not None and now - self._last > self.timeout_s:
            self.dropped_partial += 1
            self.discarded += len(self._buf)
            self._buf.clear()
        if data:
            self._last = now
        buf = self._buf
        buf.extend(data)
        out: list[id003.Frame | BadCrc] = []
        pos = 0
        while pos < len(buf):
            sync = buf.find(id003.SYNC, pos)
            if sync < 0:
                self.discarded += len(buf) - pos
                pos = len(buf)
                break
            self.discarded += sync - pos
            pos = sync
            if len(buf) - pos < 2:
                break
            length = buf[pos + 1]
            if not id003.MIN_LEN <= length <= MAX_COMMAND_LEN:
                pos += 1
                self.discarded += 1
                continue
            if len(buf) - pos < length:
                break
            raw = bytes(buf[pos : pos + length])
            try:
                out.append(id003.decode(raw))
            except FrameError:
                inner = raw.find(id003.SYNC, 1)
                if inner > 0:
                    # Noise glued to the front of a real message: skip to the next sync byte
                    # instead of swallowing the message with it.
                    self.discarded += inner
                    pos += inner
                    continue
                out.append(BadCrc(raw))
            pos += length
        del buf[:pos]
        return out


class Id003Model(Generic[F]):
    """One validator on one wire. ``faults`` scripts what happens to replies on the way out
    (:class:`NoFaults` for none); ``clock`` gives the arrival time of bytes when the caller
    does not pass ``now``."""

    def __init__(
        self,
        validator: SimValidator,
        faults: F,
        *,
        clock: Callable[[], float] = time.monotonic,
        timeout_s: float = INTER_BYTE_TIMEOUT_S,
    ) -> None:
        self.validator = validator
        self.clock = clock
        self.receiver = CommandReceiver(timeout_s)
        self.faults = faults
        self.deaf_to: dict[int, int] = {}  # command -> how many more to lose on the way in
        self.bad_crc = 0
        self.enq_sent = 0
        self._announced: tuple[int, bytes] | None = None  # last status reported or announced

    def receive(self, data: bytes, now: float | None = None) -> bytes:
        at = self.clock() if now is None else now
        out = bytearray()
        for item in self.receiver.feed(data, at):
            if isinstance(item, BadCrc):
                self.bad_crc += 1
                out += id003.encode(Status.COMMUNICATION_ERROR)
                continue
            if self.deaf_to.get(item.cmd, 0) > 0:
                self.deaf_to[item.cmd] -= 1
                continue  # the command never reached the unit
            reply = self.validator.command(item.cmd, item.data)
            if item.cmd == Cmd.STATUS_REQUEST and reply is not None:
                self._announced = reply
            if reply is not None:
                damaged = self.faults.apply(id003.encode(*reply), item.cmd)
                if damaged is not None:
                    out += damaged
            out += self._enq_if_changed()
        return bytes(out)

    def tick(self, now: float | None = None) -> bytes:
        """Something happened at the unit (not on the wire): in interrupt mode a waiting bill
        is drawn in at once, and a changed status is announced with ENQ."""
        if self.validator.comm_mode == POLLING:
            return b""
        self.validator.draw_in()
        return self._enq_if_changed()

    def _enq_if_changed(self) -> bytes:
        if self.validator.comm_mode == POLLING:
            return b""
        current = self.validator.peek()
        if current == self._announced:
            return b""
        self._announced = current
        self.enq_sent += 1
        return id003.encode(ENQ)
