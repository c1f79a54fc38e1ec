"""ccTalk, sans-IO: frames, both checksum variants, and the single-wire link state machine.

No sockets and no clocks here: :class:`CcTalkLink` is fed the bytes read from the wire with the
time they arrived and returns the reply frame once one is complete. The transport
(:mod:`drivers.coin.cctalk_port`) does the reading, writing and retrying.

The bus is one open-collector wire, so a UART host reads back every byte it sends: the link
expects that echo first and drops it before looking for the reply.
"""

from __future__ import annotations

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


class Header:
    SIMPLE_POLL = 254
    EQUIPMENT_CATEGORY = 245
    MANUFACTURER = 246
    PRODUCT_CODE = 244
    SERIAL_NUMBER = 242
    SOFTWARE_REVISION = 241
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


def crc16_ccitt(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def encode(frame: Frame, checksum: Checksum = Checksum.SUM8) -> bytes:
    if len(frame.data) > 252:
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
    """

    def __init__(self, checksum: Checksum = Checksum.SUM8) -> None:
        self.checksum = checksum
        self._echo = b""
        self._buf = bytearray()
        self._last_rx: float | None = None
        self._expect_from: int | None = None
        self.discarded = 0  # bytes thrown away as noise: visible to tests and diagnostics

    def request(self, dest: int, header: int, data: bytes = b"") -> bytes:
        raw = encode(Frame(dest, HOST, header, data), self.checksum)
        self._echo = raw
        self._buf.clear()
        self._last_rx = None
        # In CRC-16 mode slaves cannot say who they are; the reply is recognised by dest only.
        self._expect_from = dest if self.checksum is Checksum.SUM8 else None
        return raw

    def feed(self, data: bytes, now: float) -> Frame | None:
        for byte in data:
            if self._last_rx is not None and now - self._last_rx > INTER_BYTE_GAP_S:
                self.discarded += len(self._buf)
                self._buf.clear()
            self._last_rx = now
            self._buf.append(byte)
        return self._extract()

    def _extract(self) -> Frame | None:
        while self._buf:
            if self._echo:
                n = min(len(self._echo), len(self._buf))
                if bytes(self._buf[:n]) == self._echo[:n]:
                    if n < len(self._echo):
                        return None  # echo still arriving
                    del self._buf[:n]
                    self._echo = b""
                    continue
                # The echo was corrupted or lost (a collision): stop expecting it.
                self._echo = b""
            if len(self._buf) < 2:
                return None
            total = self._buf[1] + 5
            if len(self._buf) < total:
                # Maybe a corrupted length byte claims bytes that will never come: if a whole
                # valid frame already sits further on, skip to it instead of waiting.
                skip = self._later_frame()
                if skip is None:
                    return None
                del self._buf[:skip]
                self.discarded += skip
                continue
            raw = bytes(self._buf[:total])
            try:
                frame = decode(raw, self.checksum)
            except FrameError:
                # A corrupted length byte must not desynchronise us: slide one byte and retry.
                del self._buf[0]
                self.discarded += 1
                continue
            if frame.dest != HOST or (
                self._expect_from is not None and frame.source != self._expect_from
            ):
                # Not our reply. An 8-bit sum is weak: this may be noise that happens to
                # checksum, overlapping the real reply, so slide one byte, not the whole frame.
                del self._buf[0]
                self.discarded += 1
                continue
            del self._buf[:total]
            return frame
        return None

    def _later_frame(self) -> int | None:
        buf = bytes(self._buf)
        for off in range(1, len(buf) - 4):
            end = off + buf[off + 1] + 5
            if end <= len(buf):
                try:
                    decode(buf[off:end], self.checksum)
                except FrameError:
                    continue
                return off
        return None

    def pending(self) -> bool:
        """True while a partial packet or echo is buffered (the transport keeps reading)."""
        return bool(self._buf) or bool(self._echo)
