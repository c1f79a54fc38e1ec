"""JCM ID-003, sans-IO: frames with CRC-16/KERMIT, a resynchronising parser, status codes.

Frame: ``FC [LNG = whole frame length] [CMD] [DATA...] [CRC lo] [CRC hi]``; the CRC covers
FC through the last data byte. The wire is 9600 8E1; parity is the transport's business.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass

from drivers.coin.errors import FrameError

SYNC = 0xFC
MIN_LEN = 5


class Cmd:
    STATUS_REQUEST = 0x11
    RESET = 0x40
    STACK_1 = 0x41
    STACK_2 = 0x42
    RETURN = 0x43
    HOLD = 0x44
    WAIT = 0x45
    ACK = 0x50
    SET_DENOMINATIONS = 0xC0
    SET_SECURITY = 0xC1
    SET_COMM_MODE = 0xC2
    SET_INHIBIT = 0xC3
    SET_DIRECTION = 0xC4
    SET_OPTIONAL = 0xC5
    GET_DENOMINATIONS = 0x80
    GET_INHIBIT = 0x83
    GET_VERSION = 0x88
    GET_CURRENCY_TABLE = 0x8A


class Status:
    IDLING = 0x11
    ACCEPTING = 0x12
    ESCROW = 0x13
    STACKING = 0x14
    VEND_VALID = 0x15
    STACKED = 0x16
    REJECTING = 0x17
    RETURNING = 0x18
    HOLDING = 0x19
    DISABLED = 0x1A
    INITIALIZE = 0x1B
    POWER_UP = 0x40
    POWER_UP_BILL_IN_ACCEPTOR = 0x41
    POWER_UP_BILL_IN_STACKER = 0x42
    STACKER_FULL = 0x43
    STACKER_OPEN = 0x44
    ACCEPTOR_JAM = 0x45
    STACKER_JAM = 0x46
    PAUSE = 0x47
    CHEATED = 0x48
    FAILURE = 0x49
    COMMUNICATION_ERROR = 0x4A
    INVALID_COMMAND = 0x4B


FAULTS: dict[int, str] = {
    Status.STACKER_FULL: "stacker full",
    Status.STACKER_OPEN: "stacker open",
    Status.ACCEPTOR_JAM: "acceptor jam",
    Status.STACKER_JAM: "stacker jam",
    Status.PAUSE: "pause",
    Status.CHEATED: "cheated",
    Status.FAILURE: "failure",
}

REJECT_REASONS: dict[int, str] = {
    0x71: "insertion error",
    0x72: "magnetic pattern error",
    0x73: "return action due to residual bills",
    0x74: "calibration error",
    0x75: "conveying error",
    0x76: "denomination assessment error",
    0x77: "photo pattern error",
    0x78: "photo level error",
    0x79: "inhibited denomination",
    0x7A: "escrow return",
    0x7B: "operation error",
    0x7C: "return action due to residual bills",
    0x7D: "length error",
    0x7E: "color pattern error",
}

FIRST_ESCROW_CODE = 0x61


# CRC-16/KERMIT is CRC-16/XMODEM with every bit order reversed, so the C implementation in
# binascii does the work: bit-reverse each byte (bytes.translate), run crc_hqx, reverse the
# 16-bit result. A pure-Python bit loop cost ~1 µs per byte, which made resynchronising on a
# stream of FC (each FC announcing a 252-byte frame) cost about 0.2 ms per byte.
_REVERSED_BITS = bytes(int(f"{b:08b}"[::-1], 2) for b in range(256))


def crc_kermit(data: bytes | bytearray | memoryview) -> int:
    crc = binascii.crc_hqx(bytes(data).translate(_REVERSED_BITS), 0)
    return _REVERSED_BITS[crc & 0xFF] << 8 | _REVERSED_BITS[crc >> 8]


@dataclass(frozen=True)
class Frame:
    cmd: int
    data: bytes = b""


def encode(cmd: int, data: bytes = b"") -> bytes:
    body = bytes([SYNC, len(data) + MIN_LEN, cmd]) + data
    crc = crc_kermit(body)
    return body + bytes([crc & 0xFF, crc >> 8])


def decode(raw: bytes) -> Frame:
    if len(raw) < MIN_LEN or raw[0] != SYNC or raw[1] != len(raw):
        raise FrameError("ID-003 frame length or sync mismatch")
    if crc_kermit(raw[:-2]) != (raw[-1] << 8 | raw[-2]):
        raise FrameError("ID-003 CRC mismatch")
    return Frame(raw[2], bytes(raw[3:-2]))


class Id003Parser:
    """Bytes in, frames out. Noise before a sync byte and frames with a bad CRC or an absurd
    length are dropped one sync candidate at a time so a corrupted length cannot
    desynchronise us.

    Linear in the bytes fed: the scan keeps a read position instead of deleting from the
    front of the buffer, jumps to the next sync byte with ``bytearray.find``, and checks each
    candidate's CRC once (in C); a candidate still waiting for its bytes costs O(1) per feed.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self.discarded = 0

    def clear(self) -> None:
        self._buf.clear()

    def feed(self, data: bytes) -> list[Frame]:
        buf = self._buf
        buf.extend(data)
        out: list[Frame] = []
        pos = 0
        end = len(buf)
        while pos < end:
            sync = buf.find(SYNC, pos)
            if sync < 0:
                self.discarded += end - pos
                pos = end
                break
            self.discarded += sync - pos
            pos = sync
            if end - pos < 2:
                break
            length = buf[pos + 1]
            if length < MIN_LEN:
                pos += 1
                self.discarded += 1
                continue
            if end - pos < length:
                break
            raw = bytes(buf[pos : pos + length])
            if crc_kermit(raw[:-2]) != (raw[-1] << 8 | raw[-2]):
                pos += 1
                self.discarded += 1
                continue
            out.append(Frame(raw[2], raw[3:-2]))
            pos += length
        del buf[:pos]
        return out


def parse_currency_table(data: bytes) -> dict[int, int]:
    """Escrow code -> yen, from the 0x8A reply's 4-byte entries
    (escrow code, country code, value, exponent); empty entries (value 0) are skipped."""
    if len(data) % 4:
        raise FrameError("currency table length is not a multiple of 4")
    table: dict[int, int] = {}
    for i in range(0, len(data), 4):
        code, _country, value, exponent = data[i : i + 4]
        if code and value:
            table[code] = value * 10**exponent
    return table


def denomination_mask(table: dict[int, int], enabled: frozenset[int]) -> bytes:
    """C0 data: one bit per escrow code from 0x61, bit set = denomination disabled."""
    mask = 0
    for code, value in table.items():
        bit = code - FIRST_ESCROW_CODE
        if 0 <= bit < 16 and value not in enabled:
            mask |= 1 << bit
    for bit in range(16):
        if FIRST_ESCROW_CODE + bit not in table:
            mask |= 1 << bit
    return mask.to_bytes(2, "little")
