"""The simulated ccTalk wire, sans-IO: echo every byte, let the addressed slave answer.

A slave answers the address the request came from (its source byte), not always 1: a host
may sit at another address, and a second master on the bus must get its own replies. In the
CRC-16 variant the source byte carries half the CRC, so there slaves answer address 1.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from drivers.coin import cctalk
from drivers.coin.cctalk import Checksum
from drivers.coin.errors import FrameError
from sim.cash.cctalk_devices import NoAnswer, SimCoinAcceptor, SimHopper


class Faults(Protocol):
    """Reply faults to apply on the way out (see ``sim.cash.server.ReplyFaults``)."""

    def apply(self, reply: bytes, request: int | None = None) -> bytes | None: ...


class NoFaults:
    def apply(self, reply: bytes, request: int | None = None) -> bytes | None:
        return reply


class CcTalkBusModel:
    """The single wire: echo every byte, then let the addressed slave answer its caller."""

    def __init__(
        self,
        checksum: Checksum = Checksum.SUM8,
        *,
        slaves: dict[int, SimCoinAcceptor | SimHopper] | None = None,
        faults: Faults | None = None,
        on_credit_reply: Callable[[int], None] | None = None,
    ) -> None:
        self.checksum = checksum
        self.slaves: dict[int, SimCoinAcceptor | SimHopper] = {} if slaves is None else slaves
        self.faults: Faults = NoFaults() if faults is None else faults
        self.on_credit_reply = on_credit_reply
        self._buf = bytearray()
        self._last = 0.0

    def receive(self, data: bytes, now: float) -> bytes:
        out = bytearray(data)  # the echo every UART on the wire reads back
        if now - self._last > cctalk.INTER_BYTE_GAP_S:
            self._buf.clear()
        self._last = now
        self._buf.extend(data)
        while len(self._buf) >= 5:
            total = self._buf[1] + 5
            if self._buf[1] > cctalk.MAX_DATA:
                del self._buf[0]  # not a length any frame can have
                continue
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
        # decode() reports the source of a CRC-16 frame as the host (1): the right answer there.
        reply = cctalk.encode(
            cctalk.Frame(frame.source, frame.dest, header, data or b""), self.checksum
        )
        if (
            frame.header == cctalk.Header.READ_BUFFERED_CREDIT
            and self.on_credit_reply is not None
            and data
        ):
            self.on_credit_reply(data[0])
        return self.faults.apply(reply, frame.header)


def addressed_bus(old: object) -> CcTalkBusModel:
    """This bus model in place of another one, keeping its slaves, faults and hooks."""
    return CcTalkBusModel(
        getattr(old, "checksum", Checksum.SUM8),
        slaves=getattr(old, "slaves", None),
        faults=getattr(old, "faults", None),
        on_credit_reply=getattr(old, "on_credit_reply", None),
    )
