"""ccTalk, sans-IO: frames, both checksum variants, and the single-wire link state machine.

No sockets and no clocks here: :class:`CcTalkLink` is fed the bytes read from the wire with the
time they arrived and returns the reply frame once one is complete. The transport
(:mod:`drivers.coin.cctalk_port`) does the reading, writing and retrying.

The bus is one open-collector wire, so a UART host reads back every byte it sends: the link
expects that echo first and drops it before looking for the reply.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from enum import Enum

from drivers.coin.errors import FrameError

HOST = 1
COIN_ACCEPTOR = 2
FIRST_HOPPER = 3
BILL_VALIDATOR = 40

ACK = 0
NAK = 5
BUSY = 6

INTER_BYTE_GAP_S = 0.050  # a longer silence discards a partial packet (spec: 50 ms)
MAX_DATA = 252  # 253..255 in the length byte are not frames (the spec's data limit)
MAX_FRAME = MAX_DATA + 5


class Header:
    SIMPLE_POLL = 254
    EQUIPMENT_CATEGORY = 245
    MANUFACTURER = 246
    PRODUCT_CODE = 244
    SERIAL_NUMBER = 242
    SOFTWARE_REVISION = 241
    BUILD_CODE = 192
    DATABASE_VERSION = 243
    POLLING_PRIORITY = 249
    REQUEST_STATUS = 248
    SELF_CHECK = 232
    COMMS_REVISION = 4
    PAYOUT_LEVEL_STATUS = 217
    MODIFY_INHIBIT = 231
    REQUEST_INHIBIT = 230
    READ_BUFFERED_CREDIT = 229
    MODIFY_MASTER_INHIBIT = 228
    REQUEST_MASTER_INHIBIT = 227
    COIN_ID = 184
    DISPENSE_COUNT = 168
    DISPENSE = 167
    HOPPER_STATUS = 166
    ENABLE_HOPPER = 164
    TEST_HOPPER = 163
    EMERGENCY_STOP = 172
    RESET = 1


class Checksum(Enum):
    SUM8 = "sum8"  # all bytes sum to 0 mod 256
    CRC16 = "crc16"  # CRC-16/CCITT (XMODEM): poly 0x1021, init 0, not reflected


@dataclass(frozen=True)
class Frame:
    dest: int
    source: int  # in CRC-16 frames the source byte carries the CRC's low byte: reported as HOST
    header: int
    data: bytes = b""


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
        table.append(crc & 0xFFFF)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc16_ccitt(data: bytes) -> int:
    # Table-driven: the host checks every candidate frame in a noisy buffer with it.
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC_TABLE[(crc >> 8) ^ byte]
    return crc


def encode(frame: Frame, checksum: Checksum = Checksum.SUM8) -> bytes:
    if len(frame.data) > MAX_DATA:
        raise ValueError("ccTalk data is at most 252 bytes")
    if checksum is Checksum.SUM8:
        body = bytes([frame.dest, len(frame.data), frame.source, frame.header]) + frame.data
        return body + bytes([(-sum(body)) & 0xFF])
    crc = crc16_ccitt(bytes([frame.dest, len(frame.data), frame.header]) + frame.data)
    return (
        bytes([frame.dest, len(frame.data), crc & 0xFF, frame.header])
        + frame.data
        + bytes([crc >> 8])
    )


def decode(raw: bytes, checksum: Checksum = Checksum.SUM8) -> Frame:
    """One complete frame, or :class:`FrameError`."""
    if len(raw) < 5 or len(raw) != raw[1] + 5:
        raise FrameError("ccTalk frame length does not match its length byte")
    if raw[1] > MAX_DATA:
        raise FrameError(f"ccTalk data is at most {MAX_DATA} bytes, the length byte says {raw[1]}")
    data = bytes(raw[4:-1])
    if checksum is Checksum.SUM8:
        if sum(raw) & 0xFF:
            raise FrameError("ccTalk checksum mismatch")
        return Frame(raw[0], raw[2], raw[3], data)
    crc = crc16_ccitt(bytes([raw[0], raw[1], raw[3]]) + data)
    if crc != (raw[-1] << 8 | raw[2]):
        raise FrameError("ccTalk CRC-16 mismatch")
    return Frame(raw[0], HOST, raw[3], data)


class CcTalkLink:
    """The host end of the bus for one request at a time.

    ``request()`` gives the bytes to write and arms the link; ``feed()`` takes what was read,
    strips the echo of our own request, discards partial packets after a 50 ms silence and
    garbage that does not checksum, and returns the reply addressed to the host, if complete.

    Resynchronisation is linear: every byte position is a candidate frame start, registered
    once when its length byte arrives and checked once when its last byte arrives (a heap keyed
    by that end), so a byte of noise costs at most one checksum over at most one frame — never
    a rescan of the buffer.
    """

    def __init__(self, checksum: Checksum = Checksum.SUM8) -> None:
        self.checksum = checksum
        self.discarded = 0  # bytes thrown away as noise: visible to tests and diagnostics
        self.checked = 0  # candidate frames whose checksum was computed
        self._expect_from: int | None = None
        self._last_rx: float | None = None
        self._reset(b"")

    def _reset(self, echo: bytes) -> None:
        self._echo = echo
        self._echo_at = 0  # how much of the echo has been matched
        self._buf = bytearray()
        self._base = 0  # stream position of _buf[0]
        self._next_start = 0  # first stream position not yet registered as a candidate
        self._ends: list[tuple[int, int]] = []  # heap of (end, start) of registered candidates

    def request(self, dest: int, header: int, data: bytes = b"") -> bytes:
        raw = encode(Frame(dest, HOST, header, data), self.checksum)
        self._reset(raw)
        self._last_rx = None
        # In CRC-16 mode slaves cannot say who they are; the reply is recognised by dest only.
        self._expect_from = dest if self.checksum is Checksum.SUM8 else None
        return raw

    def feed(self, data: bytes, now: float) -> Frame | None:
        for i, byte in enumerate(data):
            if self._last_rx is not None and now - self._last_rx > INTER_BYTE_GAP_S:
                self._drop_partial()
            self._last_rx = now
            frame = self._take(byte)
            if frame is not None:
                # One request, one reply: what follows it in this read is not ours.
                self.discarded += len(data) - i - 1
                return frame
        return None

    def _drop_partial(self) -> None:
        self.discarded += len(self._buf)
        end = self._base + len(self._buf)
        self._buf.clear()
        self._base = self._next_start = end
        self._ends.clear()
        self._echo = b""

    def _take(self, byte: int) -> Frame | None:
        self._buf.append(byte)
        if self._echo:
            if byte == self._echo[self._echo_at]:
                self._echo_at += 1
                if self._echo_at == len(self._echo):
                    # Our own request, read back: not a candidate for the reply.
                    self._base += len(self._buf)
                    self._next_start = self._base
                    self._buf.clear()
                    self._echo = b""
                return None
            # The echo was corrupted or lost (a collision): what came so far is line data.
            self._echo = b""
        newest = self._base + len(self._buf) - 1
        # Register every start whose length byte has now arrived.
        while self._next_start < newest:
            start = self._next_start
            n = self._buf[start + 1 - self._base]
            if n <= MAX_DATA:
                heapq.heappush(self._ends, (start + n + 5, start))
            self._next_start += 1
        # Check, once each, the candidates that are now complete (earliest start first).
        while self._ends and self._ends[0][0] <= newest + 1:
            end, start = heapq.heappop(self._ends)
            frame = self._check(start, end)
            if frame is not None:
                self.discarded += start - self._base
                del self._buf[: end - self._base]
                self._base = self._next_start = end
                self._ends.clear()
                return frame
        self._trim()
        return None

    def _check(self, start: int, end: int) -> Frame | None:
        off = start - self._base
        raw = self._buf[off : off + end - start]
        # Cheap tests first: a reply is to the host and (8-bit mode) from the slave we asked.
        if raw[0] != HOST:
            return None
        if self._expect_from is not None and raw[2] != self._expect_from:
            return None
        self.checked += 1
        try:
            return decode(bytes(raw), self.checksum)
        except FrameError:
            return None

    def _trim(self) -> None:
        # Bytes no pending candidate can still use are noise: drop them so a babbling line
        # costs bounded memory.
        if len(self._buf) <= 2 * MAX_FRAME:
            return
        keep_from = min([self._next_start, *(start for _, start in self._ends)])
        drop = keep_from - self._base
        if drop > 0:
            del self._buf[:drop]
            self._base = keep_from
            self.discarded += drop

    def pending(self) -> bool:
        """True while a partial packet or echo is buffered (the transport keeps reading)."""
        return bool(self._buf) or bool(self._echo)
