"""Host <-> coprocessor link, framing: CRC-32, COBS and the frame layout (sans-IO).

The lowest of the three link modules (link_frame, link_channel, link_catalog): it knows
bytes, frames and sessions' CRC seeds, no message and no application. ONE source for both
runtimes: the host imports it as `protocol.link_frame` under CPython, the firmware as
`link_frame` under MicroPython (copied next to main.py). Hence: no dataclasses, enum or
typing at run time, no f-strings, only `struct` and (optionally) `binascii`.
protocol/SPEC.md is the normative description; protocol/vectors.json pins exact bytes.
"""

import struct

try:
    import binascii

    _HW_CRC = hasattr(binascii, "crc32")
except ImportError:  # pragma: no cover - ports built without binascii
    _HW_CRC = False

PROTOCOL_VERSION = 2

# --- frame layout (see SPEC.md section 1) ---------------------------------------------
KIND_DATA = 1
KIND_ACK = 2
KIND_NACK = 3
KIND_HELLO = 4
KIND_REFUSE = 5
_SESSION_KINDS = (KIND_DATA, KIND_ACK, KIND_NACK)  # compact header, CRC seeded by the session
_CONTROL_KINDS = (KIND_HELLO, KIND_REFUSE)  # version byte first, plain CRC: any version reads it

HEADER_LEN = 2  # session frames: kind<<6 | seq, ack; control frames: version, kind
CRC_LEN = 4
MAX_PAYLOAD = 200  # message body bytes, excluding the message id
MAX_FRAME = HEADER_LEN + 1 + MAX_PAYLOAD + CRC_LEN
MAX_ENCODED = MAX_FRAME + 1 + (MAX_FRAME + 253) // 254  # COBS worst case
SEQ_MOD = 64  # 6 bits; selective repeat needs at least twice the channel's window

# --- CRC-32 (IEEE 802.3, reflected, poly 0xEDB88320) --------------------------------------
# The table (7.5 KB of MicroPython heap, most entries being long ints) is only built on a
# port whose binascii lacks crc32.
_CRC_TABLE: "list[int]" = []


def _crc_table() -> "list[int]":
    if not _CRC_TABLE:
        for n in range(256):
            c = n
            for _k in range(8):
                c = (c >> 1) ^ 0xEDB88320 if c & 1 else c >> 1
            _CRC_TABLE.append(c)
    return _CRC_TABLE


def crc32_soft(data: "bytes | bytearray | memoryview", crc: int = 0) -> int:
    """Table-driven CRC-32, for ports whose binascii lacks crc32; `crc` continues a previous
    CRC, as zlib.crc32(data, crc) does."""
    crc ^= 0xFFFFFFFF
    table = _crc_table()
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def crc32(data: "bytes | bytearray | memoryview", crc: int = 0) -> int:
    if _HW_CRC:
        return int(binascii.crc32(data, crc))  # unsigned on both runtimes
    return crc32_soft(data, crc)


def session_seed(session: int) -> int:
    """The CRC of a session frame starts from the CRC of the session tag (4 bytes, little
    endian), as if the tag were sent in front of the frame: it is checked but costs nothing."""
    return crc32(struct.pack("<I", session))


# --- COBS -----------------------------------------------------------------------------
class DecodeError(Exception):
    """A received frame was rejected; `reason` is one of the SPEC's rejection codes."""

    def __init__(self, reason: str, value: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.value = value


def cobs_encode(data: bytes) -> bytes:
    out = bytearray()
    cobs_encode_into(out, data)
    return bytes(out)


def cobs_encode_into(out: bytearray, data: "bytes | bytearray") -> None:
    """Appends COBS(data) to `out`: the channel builds its output in place, since on the
    board every intermediate copy is heap the collector has to find room for."""
    code_at = len(out)
    out.append(0)
    code = 1
    last = len(data) - 1
    for i in range(len(data)):
        b = data[i]
        if b != 0:
            out.append(b)
            code += 1
        if b == 0 or code == 0xFF:
            out[code_at] = code
            code = 1
            if b != 0 and i == last:
                return  # a full block ends the data: no empty block after it
            code_at = len(out)
            out.append(0)
    out[code_at] = code


def cobs_decode(data: bytes) -> bytes:
    """Strict decoder: a zero byte or a code running past the end is malformed."""
    out = bytearray()
    i = 0
    n = len(data)
    while i < n:
        code = data[i]
        if code == 0:
            raise DecodeError("cobs")
        end = i + code
        if end > n:
            raise DecodeError("cobs")
        chunk = data[i + 1 : end]
        if 0 in chunk:
            raise DecodeError("cobs")
        out.extend(chunk)
        i = end
        if code != 0xFF and i < n:
            out.append(0)
    return bytes(out)


# --- frames ---------------------------------------------------------------------------
class Frame:
    def __init__(
        self,
        kind: int,
        session: int = 0,
        seq: int = 0,
        ack: int = 0,
        msg_id: int = 0,
        body: bytes = b"",
        version: int = PROTOCOL_VERSION,
    ) -> None:
        self.kind = kind
        self.session = session
        self.seq = seq
        self.ack = ack
        self.msg_id = msg_id
        self.body = body
        self.version = version

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Frame):
            return False
        return (
            self.kind == other.kind
            and self.session == other.session
            and self.seq == other.seq
            and self.ack == other.ack
            and self.msg_id == other.msg_id
            and bytes(self.body) == bytes(other.body)
            and self.version == other.version
        )

    def __repr__(self) -> str:
        return "Frame(kind=%d, session=%d, seq=%d, ack=%d, msg_id=%d, body=%r)" % (
            self.kind,
            self.session,
            self.seq,
            self.ack,
            self.msg_id,
            bytes(self.body),
        )


def pack_frame(frame: Frame, seed: int = -1) -> bytes:
    """Frame -> raw bytes (header, [msg id], body, CRC), before COBS. `seed` is
    session_seed(frame.session), passed by callers that keep it."""
    if frame.kind in _CONTROL_KINDS:
        seed = 0
    elif seed < 0:
        seed = session_seed(frame.session)
    return bytes(pack_raw(frame.kind, frame.seq, frame.ack, frame.msg_id, frame.body, seed))


def pack_raw(kind: int, seq: int, ack: int, msg_id: int, body: bytes, seed: int) -> bytearray:
    """pack_frame without the Frame: the channel emits from its own state, and each object
    made on the board is heap the collector has to find room for."""
    if len(body) > MAX_PAYLOAD:
        raise ValueError("payload too large")
    if kind in _CONTROL_KINDS:
        raw = bytearray(HEADER_LEN + len(body) + CRC_LEN)
        raw[0] = PROTOCOL_VERSION
        raw[1] = kind
        at = HEADER_LEN
        seed = 0  # any version must be able to check it
    else:
        at = HEADER_LEN + 1 if kind == KIND_DATA else HEADER_LEN
        raw = bytearray(at + len(body) + CRC_LEN)
        raw[0] = (kind << 6) | (seq % SEQ_MOD)
        raw[1] = ack % SEQ_MOD
        if kind == KIND_DATA:
            raw[2] = msg_id
    end = at + len(body)
    raw[at:end] = body
    struct.pack_into("<I", raw, end, crc32(memoryview(raw)[:end], seed))
    return raw


def encode_frame(frame: Frame, seed: int = -1) -> bytes:
    """Frame -> wire bytes: a 0x00 delimiter, COBS(raw), and the 0x00 that ends it."""
    out = bytearray(b"\x00")
    cobs_encode_into(out, pack_frame(frame, seed))
    out.append(0)
    return bytes(out)


def unpack_frame(
    raw: bytes, session: int = 0, seed: int = -1, stale: "list[int] | None" = None
) -> Frame:
    """Raw bytes -> Frame. Session frames (DATA, ACK, NACK) are recognised only under
    `session` (their CRC is seeded by it; `seed` = session_seed(session) if the caller keeps
    it); a frame whose CRC matches one of the `stale` seeds is from an earlier session."""
    n = len(raw)
    if n < HEADER_LEN + CRC_LEN:
        raise DecodeError("short")
    if n > MAX_FRAME:
        raise DecodeError("too_long")
    got = struct.unpack_from("<I", raw, n - CRC_LEN)[0]
    covered = memoryview(raw)[: n - CRC_LEN]
    if session:
        if seed < 0:
            seed = session_seed(session)
        if crc32(covered, seed) == got:
            return _session_frame(raw, session)
    if crc32(covered) == got:
        return _control_frame(raw)
    if stale:
        for old in stale:
            if crc32(covered, old) == got:
                raise DecodeError("stale_session")
    raise DecodeError("crc")


def _session_frame(raw: bytes, session: int) -> Frame:
    kind = raw[0] >> 6
    if kind == 0 or raw[1] >= SEQ_MOD:
        raise DecodeError("header")
    end = len(raw) - CRC_LEN
    at = HEADER_LEN
    msg_id = 0
    if kind == KIND_DATA:
        if end <= at:
            raise DecodeError("short")
        msg_id = raw[at]
        at += 1
    elif end - at != (1 if kind == KIND_NACK else 0):
        raise DecodeError("length")
    body = raw[at:end]  # one slice: on the board every copy is heap to collect
    if not isinstance(body, bytes):
        body = bytes(body)
    return Frame(kind, session, raw[0] & (SEQ_MOD - 1), raw[1], msg_id, body)


def _control_frame(raw: bytes) -> Frame:
    version = raw[0]
    if version != PROTOCOL_VERSION:
        raise DecodeError("version", version)
    kind = raw[1]
    if kind not in _CONTROL_KINDS:
        raise DecodeError("kind", kind)
    body = raw[HEADER_LEN : len(raw) - CRC_LEN]
    if len(body) > MAX_PAYLOAD:
        raise DecodeError("length")
    return Frame(kind, 0, 0, 0, 0, bytes(body), version)


def decode_frame(encoded: bytes, session: int = 0, seed: int = -1) -> Frame:
    """One COBS-encoded frame (without its delimiters) -> Frame, or DecodeError."""
    if len(encoded) == 0:
        raise DecodeError("empty")
    if len(encoded) > MAX_ENCODED:
        raise DecodeError("too_long")
    return unpack_frame(cobs_decode(encoded), session, seed)


class FrameReader:
    """Splits a byte stream on 0x00 and decodes each frame; resyncs at the next 0x00.
    `session` (with its `seed`) is the session whose DATA/ACK/NACK frames it accepts."""

    def __init__(self, session: int = 0) -> None:
        self._buf = bytearray()
        self._overflow = False
        self.stale: list[int] = []
        self.set_session(session)

    def set_session(self, session: int) -> None:
        self.session = session
        self.seed = session_seed(session) if session else -1

    def _decode(self, encoded: bytes, out: "list[Frame | DecodeError]") -> None:
        try:
            raw = cobs_decode(encoded)
            out.append(unpack_frame(raw, self.session, self.seed, self.stale))
        except DecodeError as exc:
            out.append(exc)

    def feed(self, data: bytes) -> "list[Frame | DecodeError]":
        # `data` is searched in place: copying a whole UART read would double its heap cost
        out: list[Frame | DecodeError] = []
        start = 0
        n = len(data)
        while start < n:
            end = data.find(b"\x00", start)
            if end < 0:
                if not self._overflow:
                    self._buf.extend(data[start:])
                    if len(self._buf) > MAX_ENCODED:
                        self._buf = bytearray()
                        self._overflow = True
                        out.append(DecodeError("too_long"))
                break
            if self._overflow:
                self._overflow = False
            elif self._buf:
                buf = self._buf
                buf.extend(data[start:end])
                if len(buf) > MAX_ENCODED:
                    out.append(DecodeError("too_long"))
                else:
                    self._decode(bytes(buf), out)  # MicroPython: no `in` on bytearray
                self._buf = bytearray()
            elif end - start > MAX_ENCODED:
                out.append(DecodeError("too_long"))
            elif end > start:  # empty frames are the delimiter pairs between frames
                piece = data[start:end]  # a whole frame in this read: no buffer needed
                self._decode(piece if isinstance(piece, bytes) else bytes(piece), out)
            start = end + 1
        return out
