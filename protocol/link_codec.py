"""Host <-> coprocessor link: framing, message catalog and reliable channel (sans-IO).

ONE source for both runtimes: the host imports it under CPython, the firmware under
MicroPython (copied next to main.py). Hence: no dataclasses, enum or typing at run time, no
f-strings, only `struct`, `os` and (optionally) `binascii`. protocol/SPEC.md is the normative
description; protocol/vectors.json pins exact bytes.

Time is passed in by the caller as milliseconds on a wrapping 2**30 tick counter (what
MicroPython's time.ticks_ms() returns); every comparison goes through ticks_diff().
"""

import struct

# MicroPython has no typing module; mypy treats this name as true, both runtimes as false,
# and neither runtime evaluates annotations, so typing names appear only inside them.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

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
MAX_FW_VERSION = 32

ROLE_HOST = 0
ROLE_DEVICE = 1

# --- reliability and timing constants (ms) ---------------------------------------------
WINDOW = 8
SEQ_MOD = 64  # 6 bits; selective repeat needs at least twice the window
RTO_MS = 100  # initial retransmission timeout, until the first RTT sample
RTO_MIN_MS = 100  # above the peer's delayed-ACK wait plus a busy host's scheduling stalls;
# losses are recovered by NACKs at once, the timer only catches the rare lost tail
RTO_MAX_MS = 250  # backoff cap: well inside LINK_TIMEOUT_MS, so recovery keeps probing
RTO_GRANULARITY_MS = 10  # RFC 6298's G: the coarsest tick either end runs at
HELLO_MS = 200
REFUSED_HELLO_MS = 1000
HEARTBEAT_MS = 250
LINK_TIMEOUT_MS = 1000
ACK_DELAY_MS = 10  # a pure ACK waits this long for data to ride on, or for more to ack
ACK_EVERY = WINDOW // 2  # ...but never past half a window, or the sender would stall

TICKS_PERIOD = 1 << 30
_TICKS_HALF = TICKS_PERIOD >> 1

# reset causes reported in HELLO
RESET_POWER_ON = 0
RESET_WATCHDOG = 1
RESET_SOFT = 2
RESET_OTHER = 3
RESET_HOST = 4  # the host side: its process (re)started

# REFUSE reasons
REFUSE_VERSION = 1
REFUSE_CATALOG = 2
REFUSE_ROLE = 3
REFUSE_TEXT = {
    REFUSE_VERSION: "link protocol version mismatch",
    REFUSE_CATALOG: "message catalog mismatch (the two ends were built from different sources)",
    REFUSE_ROLE: "both ends claim the same role",
}

# LinkDown reasons
DOWN_TIMEOUT = "timeout"
DOWN_PEER_RESET = "peer_reset"


def ticks_diff(a: int, b: int) -> int:
    """a - b on the wrapping tick counter, like MicroPython's time.ticks_diff."""
    return ((a - b + _TICKS_HALF) & (TICKS_PERIOD - 1)) - _TICKS_HALF


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
    return bytes(_pack(frame.kind, frame.seq, frame.ack, frame.msg_id, frame.body, seed))


def _pack(kind: int, seq: int, ack: int, msg_id: int, body: bytes, seed: int) -> bytearray:
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


# --- message catalog (see SPEC.md section 4) -------------------------------------------
# (id, name, direction, struct format of the body, field names)
H2D = "h2d"
D2H = "d2h"
CATALOG = (
    (0x01, "COIN_INHIBIT", H2D, "<B", ("inhibit",)),
    (0x02, "BUZZER", H2D, "<BB", ("pattern", "seconds")),
    (0x03, "LED", H2D, "<BB", ("led", "mode")),
    (0x04, "SERVICE_MODE", H2D, "<B", ("out_of_service",)),
    (0x05, "STATUS_REQUEST", H2D, "<", ()),
    (0x41, "COIN", D2H, "<HBH", ("value_yen", "pulses", "counter")),
    (0x42, "COIN_REJECTED", D2H, "<BBH", ("reason", "pulses", "counter")),
    (0x43, "TRAY", D2H, "<BB", ("tray", "present")),
    (0x44, "DOOR", D2H, "<B", ("open",)),
    (
        0x45,
        "STATUS",
        D2H,
        "<BBBBBBBBBBHII",
        (
            "inhibit",
            "door_open",
            "cert_tray",
            "change_tray",
            "buzzer",
            "led_card",
            "led_tray",
            "led_change",
            "out_of_service",
            "reset_cause",
            "coin_counter",
            "uptime_s",
            "boot_id",
        ),
    ),
)

MSG_COIN_INHIBIT = 0x01
MSG_BUZZER = 0x02
MSG_LED = 0x03
MSG_SERVICE_MODE = 0x04
MSG_STATUS_REQUEST = 0x05
MSG_COIN = 0x41
MSG_COIN_REJECTED = 0x42
MSG_TRAY = 0x43
MSG_DOOR = 0x44
MSG_STATUS = 0x45

BUZZER_OFF = 0
BUZZER_CHIME = 1
BUZZER_REMINDER = 2
BUZZER_ALARM = 3
BUZZER_ERROR = 4

LED_CARD_GUIDE = 0
LED_TRAY_GUIDE = 1
LED_CHANGE_GUIDE = 2

LED_OFF = 0
LED_ON = 1
LED_BLINK_SLOW = 2
LED_BLINK_FAST = 3

TRAY_CERTIFICATE = 0
TRAY_CHANGE = 1

COIN_REJECT_COUNT = 1  # pulse count matches no coin
COIN_REJECT_WIDTH = 2  # a pulse shorter or longer than the acceptor's spec

_BY_ID: dict[int, tuple[int, str, str, str, tuple[str, ...]]] = {}
for _entry in CATALOG:
    _BY_ID[_entry[0]] = _entry


def _catalog_text() -> str:
    parts = []
    for mid, name, direction, fmt, fields in CATALOG:
        parts.append("%d:%s:%s:%s:%s" % (mid, name, direction, fmt, ",".join(fields)))
    return ";".join(parts)


CATALOG_HASH = crc32(_catalog_text().encode())


_FIELD_MAX = {"B": 0xFF, "H": 0xFFFF, "I": 0xFFFFFFFF}


class MessageError(Exception):
    """A message id or body that does not match the catalog."""


def message_name(msg_id: int) -> str:
    entry = _BY_ID.get(msg_id)
    return entry[1] if entry is not None else "UNKNOWN_%d" % msg_id


def encode_message(msg_id: int, values: "tuple[int, ...]") -> bytes:
    entry = _BY_ID.get(msg_id)
    if entry is None:
        raise MessageError("unknown message id %d" % msg_id)
    if len(values) != len(entry[4]):
        raise MessageError("%s takes %d fields" % (entry[1], len(entry[4])))
    fmt = entry[3]
    for i in range(len(values)):
        v = values[i]
        # MicroPython's struct silently truncates, so ranges are checked here for both runtimes
        if not isinstance(v, int) or v < 0 or v > _FIELD_MAX[fmt[i + 1]]:
            raise MessageError("%s.%s out of range" % (entry[1], entry[4][i]))
    return struct.pack(fmt, *values)


def decode_message(msg_id: int, body: bytes) -> "tuple[int, ...]":
    entry = _BY_ID.get(msg_id)
    if entry is None:
        raise MessageError("unknown message id %d" % msg_id)
    if len(body) != struct.calcsize(entry[3]):
        raise MessageError("%s: body of %d bytes" % (entry[1], len(body)))
    return tuple(struct.unpack(entry[3], body))


# --- HELLO / REFUSE bodies ---------------------------------------------------------------
_HELLO_FMT = "<BBIIIBBB"  # version, role, catalog hash, epoch, peer epoch, reset, window, max
_HELLO_LEN = struct.calcsize(_HELLO_FMT)
_REFUSE_FMT = "<BBBI"  # reason, role, version, catalog hash
_REFUSE_LEN = struct.calcsize(_REFUSE_FMT)


class Hello:
    def __init__(
        self,
        role: int,
        catalog_hash: int,
        epoch: int,
        peer_epoch: int,
        reset_cause: int,
        fw_version: str,
        version: int = PROTOCOL_VERSION,
        window: int = WINDOW,
        max_payload: int = MAX_PAYLOAD,
    ) -> None:
        self.role = role
        self.catalog_hash = catalog_hash
        self.epoch = epoch
        self.peer_epoch = peer_epoch
        self.reset_cause = reset_cause
        self.fw_version = fw_version
        self.version = version
        self.window = window
        self.max_payload = max_payload

    def pack(self) -> bytes:
        fw = self.fw_version.encode()[:MAX_FW_VERSION]
        head = struct.pack(
            _HELLO_FMT,
            self.version,
            self.role,
            self.catalog_hash,
            self.epoch,
            self.peer_epoch,
            self.reset_cause,
            self.window,
            self.max_payload,
        )
        return head + bytes([len(fw)]) + fw


def unpack_hello(body: bytes) -> Hello:
    if len(body) < _HELLO_LEN + 1:
        raise DecodeError("hello")
    v, role, chash, epoch, peer, cause, window, maxp = struct.unpack(_HELLO_FMT, body[:_HELLO_LEN])
    n = body[_HELLO_LEN]
    fw = body[_HELLO_LEN + 1 :]
    if n != len(fw) or n > MAX_FW_VERSION or epoch == 0:
        raise DecodeError("hello")
    try:
        text = bytes(fw).decode()
    except UnicodeError:
        raise DecodeError("hello") from None
    return Hello(role, chash, epoch, peer, cause, text, v, window, maxp)


def pack_refuse(reason: int, role: int, catalog_hash: int, fw_version: str) -> bytes:
    fw = fw_version.encode()[:MAX_FW_VERSION]
    return (
        struct.pack(_REFUSE_FMT, reason, role, PROTOCOL_VERSION, catalog_hash)
        + bytes([len(fw)])
        + fw
    )


# --- channel events ---------------------------------------------------------------------
class LinkUp:
    """Handshake done: both ends agree on each other's epoch."""

    def __init__(
        self, epoch: int, peer_epoch: int, peer_fw: str, peer_reset_cause: int, peer_role: int
    ) -> None:
        self.epoch = epoch
        self.peer_epoch = peer_epoch
        self.peer_fw = peer_fw
        self.peer_reset_cause = peer_reset_cause
        self.peer_role = peer_role


class LinkDown:
    """The session ended. `unacked` holds (msg_id, body) the peer may not have received."""

    def __init__(self, reason: str, unacked: "list[tuple[int, bytes]]") -> None:
        self.reason = reason
        self.unacked = unacked


class Received:
    """A message delivered in order, exactly once within the session."""

    def __init__(self, msg_id: int, body: bytes) -> None:
        self.msg_id = msg_id
        self.body = body


class Acked:
    """The peer acknowledged the DATA frame sent with this sequence number."""

    def __init__(self, seq: int) -> None:
        self.seq = seq


class Refused:
    """The two ends cannot talk (version, catalog or role mismatch)."""

    def __init__(self, reason: int, text: str, by_peer: bool) -> None:
        self.reason = reason
        self.text = text
        self.by_peer = by_peer


class LinkError(Exception):
    pass


class WindowFull(LinkError):
    """Back-pressure: WINDOW frames are unacknowledged; wait for Acked and retry."""


class LinkNotUp(LinkError):
    pass


class PayloadTooLarge(LinkError):
    pass


def _default_rand32() -> int:
    import os

    return int(struct.unpack("<I", os.urandom(4))[0])


def session_tag(epoch_a: int, epoch_b: int) -> int:
    """Both epochs and the protocol version: a tag no other session or version shares."""
    lo = epoch_a if epoch_a < epoch_b else epoch_b
    hi = epoch_b if epoch_a < epoch_b else epoch_a
    tag = crc32(struct.pack("<BII", PROTOCOL_VERSION, lo, hi))
    # 0 means "no session"; and the one tag whose seed is 0 would make control frames
    # (plain CRC) valid session frames too
    return tag if tag != 0 and session_seed(tag) != 0 else 1


# --- the reliable channel -------------------------------------------------------------------
_TX_MASK = (1 << 30) - 1


class _Pending:
    """A DATA frame sent and not yet acknowledged."""

    def __init__(self, seq: int, msg_id: int, body: bytes, sent: int) -> None:
        self.seq = seq
        self.msg_id = msg_id
        self.body = body
        self.sent = sent
        self.tx_no = 0  # order of its latest transmission among all of ours
        self.retransmitted = False  # Karn: no RTT sample from a frame sent twice
        self.sacked = False  # the peer holds it, waiting for an earlier frame
        self.probed = False  # its latest retransmission was itself resent once, as a probe


class Channel:
    """Sans-IO reliable channel. Feed it bytes with receive(), time with tick(); write out
    whatever outgoing() returns. Both calls return a list of events (LinkUp, LinkDown,
    Received, Acked, Refused)."""

    def __init__(
        self,
        role: int,
        fw_version: str,
        now: int,
        reset_cause: int = RESET_POWER_ON,
        catalog_hash: int = CATALOG_HASH,
        rand32: "Callable[[], int] | None" = None,
        rto_ms: int = RTO_MS,
        link_timeout_ms: int = LINK_TIMEOUT_MS,
        heartbeat_ms: int = HEARTBEAT_MS,
    ) -> None:
        self.role = role
        self.fw_version = fw_version
        self.reset_cause = reset_cause
        self.catalog_hash = catalog_hash
        self._rand32 = rand32 if rand32 is not None else _default_rand32
        self.rto_ms = rto_ms
        self.link_timeout_ms = link_timeout_ms
        self.heartbeat_ms = heartbeat_ms
        self._reader = FrameReader()
        self._out = bytearray()
        self._dead_peers: list[int] = []
        self.stats: dict[str, int] = {}
        self.refused: Refused | None = None
        self._last_tx = now
        self._last_rx = now
        self._new_session(now)

    # -- state ---------------------------------------------------------------------------
    def _new_session(self, now: int) -> None:
        self.epoch = self._fresh_epoch()
        self.peer_epoch = 0
        self.peer_fw = ""
        self.peer_reset_cause = 0
        self.up = False
        self._set_session(0)
        self._tx_seq = 0
        self._tx_no = 0
        self._rx_seq = 0
        self._unacked: list[_Pending] = []
        self._rx_held: list[tuple[int, bytes] | None] = [None] * WINDOW  # by seq % WINDOW
        self._ack_pending = False
        self._ack_at = now
        self._rx_unacked = 0
        self._rto_at = now
        # RFC 6298, in eighths of a millisecond; a new session may run on another line
        self.rto = self.rto_ms
        self._srtt8 = -1
        self._rttvar8 = 0
        self._min_rtt = -1
        self._next_hello = now

    def _set_session(self, session: int) -> None:
        old = self._reader.seed
        if old >= 0:
            # remembered so a frame of the last session is told apart from line noise
            self._reader.stale.append(old)
            del self._reader.stale[:-2]
        self.session = session
        self._reader.set_session(session)

    def _fresh_epoch(self) -> int:
        e = 0
        while e == 0:
            e = self._rand32() & 0xFFFFFFFF
        return e

    def _count(self, key: str) -> None:
        self.stats[key] = self.stats.get(key, 0) + 1

    def can_send(self) -> bool:
        return self.up and len(self._unacked) < WINDOW

    def in_flight(self) -> int:
        return len(self._unacked)

    # -- output --------------------------------------------------------------------------
    def outgoing(self) -> bytearray:
        """The bytes to write, handed over without a copy."""
        data = self._out
        self._out = bytearray()
        return data

    def _emit(self, frame: Frame, now: int) -> None:
        self._emit_raw(frame.kind, frame.seq, frame.ack, frame.msg_id, frame.body, now)

    def _emit_raw(self, kind: int, seq: int, ack: int, msg_id: int, body: bytes, now: int) -> None:
        out = self._out
        out.append(0)  # the delimiter before every frame
        cobs_encode_into(out, _pack(kind, seq, ack, msg_id, body, self._reader.seed))
        out.append(0)
        self._last_tx = now
        self._count("frames_tx")

    def _emit_hello(self, now: int) -> None:
        hello = Hello(
            self.role,
            self.catalog_hash,
            self.epoch,
            self.peer_epoch,
            self.reset_cause,
            self.fw_version,
        )
        self._emit(Frame(KIND_HELLO, body=hello.pack()), now)
        interval = REFUSED_HELLO_MS if self.refused is not None else HELLO_MS
        self._next_hello = now + interval

    def _held_map(self) -> int:
        """Bit i set: we hold the frame i + 1 past the next expected one."""
        bits = 0
        for i in range(1, WINDOW):
            if self._rx_held[(self._rx_seq + i) % WINDOW] is not None:
                bits |= 1 << (i - 1)
        return bits

    def _emit_ack(self, now: int) -> None:
        """An ACK, or a NACK carrying the map of frames we hold beyond a gap."""
        self._ack_pending = False
        self._rx_unacked = 0
        held = self._held_map()
        if held:
            self._count("nacks_tx")
            self._emit_raw(KIND_NACK, 0, self._rx_seq, 0, bytes((held,)), now)
        else:
            self._emit_raw(KIND_ACK, 0, self._rx_seq, 0, b"", now)

    def _emit_data(self, entry: "_Pending", now: int) -> None:
        entry.sent = now
        self._tx_no = (self._tx_no + 1) & _TX_MASK
        entry.tx_no = self._tx_no
        self._ack_pending = False  # the frame carries our ack
        self._rx_unacked = 0
        self._emit_raw(KIND_DATA, entry.seq, self._rx_seq, entry.msg_id, entry.body, now)

    # -- sending -------------------------------------------------------------------------
    def send(self, msg_id: int, body: bytes, now: int) -> int:
        """Queue one message; returns its sequence number. Raises LinkNotUp, WindowFull or
        PayloadTooLarge (nothing is queued then)."""
        if len(body) > MAX_PAYLOAD:
            raise PayloadTooLarge("%d > %d bytes" % (len(body), MAX_PAYLOAD))
        if not self.up:
            raise LinkNotUp("link is down")
        if len(self._unacked) >= WINDOW:
            raise WindowFull("window of %d frames is full" % WINDOW)
        seq = self._tx_seq
        self._tx_seq = (seq + 1) % SEQ_MOD
        entry = _Pending(seq, msg_id, bytes(body), now)
        if not self._unacked:
            self._rto_at = now + self.rto  # RFC 6298 5.1: the timer runs while data is out
        self._unacked.append(entry)
        self._emit_data(entry, now)
        return seq

    # -- time ----------------------------------------------------------------------------
    def tick(self, now: int) -> "list[object]":
        events: list[object] = []
        if self.up:
            if ticks_diff(now, self._last_rx) >= self.link_timeout_ms:
                self._count("link_timeouts")
                events.append(self._drop(DOWN_TIMEOUT, now))
                return events
            if self._unacked and ticks_diff(now, self._rto_at) >= 0:
                # RFC 6298 5.4-5.6: resend the earliest frame only, back off, restart
                self._count("timeouts")
                self.rto = min(self.rto * 2, RTO_MAX_MS)
                self._retransmit(self._unacked[0], now)
                self._rto_at = now + self.rto
            elif self._unacked and ticks_diff(now, self._probe_at()) >= 0:
                # a retransmission unanswered for longer than an answer takes was lost too;
                # frames sent after it would show that, but a full window sends none
                self._count("probes")
                entry = self._unacked[0]
                self._retransmit(entry, now)
                entry.probed = True
            if self._ack_pending and ticks_diff(now, self._ack_at) >= 0:
                self._emit_ack(now)
            if ticks_diff(now, self._last_tx) >= self.heartbeat_ms:
                self._emit_ack(now)
        elif ticks_diff(now, self._next_hello) >= 0:
            self._emit_hello(now)
        return events

    def next_deadline(self, now: int) -> int:
        """Milliseconds until tick() has something to do (an upper bound)."""
        if not self.up:
            return max(0, ticks_diff(self._next_hello, now))
        waits = [
            self.link_timeout_ms - ticks_diff(now, self._last_rx),
            self.heartbeat_ms - ticks_diff(now, self._last_tx),
        ]
        if self._unacked:
            waits.append(ticks_diff(self._rto_at, now))
            waits.append(ticks_diff(self._probe_at(), now))
        if self._ack_pending:
            waits.append(ticks_diff(self._ack_at, now))
        return max(0, min(waits))

    def _retransmit(self, entry: "_Pending", now: int) -> None:
        self._count("retransmits")
        entry.retransmitted = True
        entry.probed = False
        self._emit_data(entry, now)

    def _probe_at(self) -> int:
        """When to resend the oldest frame, in loss recovery, ahead of the RTO: two smoothed
        RTTs and the peer's ACK delay after its retransmission (RFC 8985's probe timeout).
        Far in the future when there is nothing to probe."""
        oldest = self._unacked[0]
        if not oldest.retransmitted or oldest.probed or self._srtt8 < 0:
            return self._rto_at
        return oldest.sent + self._srtt8 // 4 + ACK_DELAY_MS

    def _bury(self, epoch: int) -> None:
        """Remember a peer epoch that is gone, so late frames from it cannot revive it."""
        self._dead_peers.append(epoch)
        del self._dead_peers[:-4]

    def _drop(self, reason: str, now: int) -> LinkDown:
        unacked = [(e.msg_id, e.body) for e in self._unacked]
        if self.peer_epoch:
            self._bury(self.peer_epoch)
        self._new_session(now)
        return LinkDown(reason, unacked)

    # -- receiving -----------------------------------------------------------------------
    def receive(self, data: bytes, now: int) -> "list[object]":
        events: list[object] = []
        ack_now = False
        delivered = 0
        for item in self._reader.feed(data):
            if isinstance(item, DecodeError):
                self._count("rx_" + item.reason)
                if item.reason == "version":
                    self._refuse_version(item.value, now, events)
                continue
            self._count("frames_rx")
            kind = item.kind
            if kind == KIND_HELLO:
                self._on_hello(item, now, events)
            elif kind == KIND_REFUSE:
                self._on_refuse(item, events)
            elif self.peer_epoch:  # the reader only passes frames of our session
                if not self.up:
                    self._go_up(now, events)
                self._last_rx = now
                self._on_ack(item.ack, now, events)
                if kind == KIND_DATA:
                    got = self._on_data(item, events)
                    if got > 0:
                        delivered += got
                    elif got < 0:
                        ack_now = True  # a duplicate or a gap: tell the sender at once
                elif kind == KIND_NACK:
                    self._count("nacks_rx")
                    self._on_nack(item.body[0], now)
        if self.up:
            self._rx_unacked += delivered
            if ack_now or self._rx_unacked >= ACK_EVERY:
                self._emit_ack(now)
            elif delivered and not self._ack_pending:
                self._ack_pending = True
                self._ack_at = now + ACK_DELAY_MS
        return events

    def _go_up(self, now: int, events: "list[object]") -> None:
        self.up = True
        self.refused = None
        self._last_rx = now
        events.append(
            LinkUp(self.epoch, self.peer_epoch, self.peer_fw, self.peer_reset_cause, 1 - self.role)
        )

    def _on_ack(self, ack: int, now: int, events: "list[object]") -> None:
        if not self._unacked:
            return
        n = (ack - self._unacked[0].seq) % SEQ_MOD
        if n > len(self._unacked):
            self._count("rx_bogus_ack")  # acks what was never sent: ignore it
            return
        if n == 0:
            return
        latest = -1
        for _ in range(n):
            entry = self._unacked.pop(0)
            events.append(Acked(entry.seq))
            if not entry.retransmitted and not entry.sacked:
                self._rtt_sample(ticks_diff(now, entry.sent))
            elif entry.retransmitted and ticks_diff(now, entry.sent) < self._min_rtt:
                # acknowledged sooner than any round trip takes: the ACK answers the first
                # transmission (the retransmission was spurious), so it says nothing about
                # frames sent in between (RFC 8985's rule)
                continue
            if latest < 0 or ticks_diff(entry.tx_no, latest) > 0:
                latest = entry.tx_no
        self._rto_at = now + self.rto  # RFC 6298 5.3: new data acknowledged
        self._resend_lost(latest, now)

    def _on_nack(self, held: int, now: int) -> None:
        """The peer misses our oldest frame and holds those `held` maps. A frame is lost when
        the peer holds one we transmitted after it (RACK's rule, in transmission order): a
        NACK resends exactly the frames lost, each once per loss, never the whole window."""
        unacked = self._unacked
        if not unacked:
            return
        latest = -1
        for i in range(1, len(unacked)):
            entry = unacked[i]
            d = (entry.seq - unacked[0].seq) % SEQ_MOD
            if d <= WINDOW - 1 and held & (1 << (d - 1)):
                if not entry.sacked:
                    entry.sacked = True
                    if not entry.retransmitted:
                        self._rtt_sample(ticks_diff(now, entry.sent))
                if entry.retransmitted and ticks_diff(now, entry.sent) < self._min_rtt:
                    continue  # the peer may hold the first transmission (as in _on_ack)
                if latest < 0 or ticks_diff(entry.tx_no, latest) > 0:
                    latest = entry.tx_no
        if latest >= 0:
            self._resend_lost(latest, now)

    def _resend_lost(self, latest: int, now: int) -> None:
        """The peer has our transmission number `latest`; the line keeps order, so every
        frame transmitted before it that the peer neither acknowledged nor holds is lost."""
        for entry in self._unacked:
            if not entry.sacked and ticks_diff(entry.tx_no, latest) < 0:
                self._count("fast_retransmits")
                self._retransmit(entry, now)

    def _rtt_sample(self, rtt: int) -> None:
        """RFC 6298 2.2/2.3: SRTT and RTTVAR (gains 1/8 and 1/4), RTO = SRTT + max(G,
        4 RTTVAR) within [RTO_MIN_MS, RTO_MAX_MS]; a fresh sample also ends any backoff."""
        rtt = max(rtt, 0)
        if self._min_rtt < 0 or rtt < self._min_rtt:
            self._min_rtt = rtt
        r8 = rtt * 8
        if self._srtt8 < 0:
            self._srtt8 = r8
            self._rttvar8 = r8 // 2
        else:
            err = r8 - self._srtt8
            self._rttvar8 += ((err if err >= 0 else -err) - self._rttvar8) // 4
            self._srtt8 += err // 8
        var = max(RTO_GRANULARITY_MS * 8, 4 * self._rttvar8)
        self.rto = min(max((self._srtt8 + var) // 8, RTO_MIN_MS), RTO_MAX_MS)

    def _on_data(self, frame: Frame, events: "list[object]") -> int:
        """Delivers in order, holds frames ahead of a gap (selective repeat). Returns how
        many were delivered, or -1 for a duplicate or a gap (answered at once)."""
        held = self._rx_held
        ahead = (frame.seq - self._rx_seq) % SEQ_MOD
        if ahead == 0:
            events.append(Received(frame.msg_id, frame.body))
            self._rx_seq = (self._rx_seq + 1) % SEQ_MOD
            n = 1
            slot = self._rx_seq % WINDOW
            nxt = held[slot]
            while nxt is not None:
                held[slot] = None
                events.append(Received(nxt[0], nxt[1]))
                self._rx_seq = (self._rx_seq + 1) % SEQ_MOD
                n += 1
                slot = self._rx_seq % WINDOW
                nxt = held[slot]
            return n
        if ahead < WINDOW:
            slot = frame.seq % WINDOW
            if held[slot] is None:
                self._count("rx_out_of_order")
                held[slot] = (frame.msg_id, frame.body)
            else:
                self._count("rx_duplicate")
            return -1
        self._count("rx_duplicate")  # behind: our ack was lost and the peer retransmits
        return -1

    def _on_hello(self, frame: Frame, now: int, events: "list[object]") -> None:
        try:
            hello = unpack_hello(frame.body)
        except DecodeError:
            self._count("rx_hello")
            return
        reason = 0
        if hello.version != PROTOCOL_VERSION:
            reason = REFUSE_VERSION
        elif hello.catalog_hash != self.catalog_hash:
            reason = REFUSE_CATALOG
        elif hello.role == self.role:
            reason = REFUSE_ROLE
        if reason:
            self._emit(
                Frame(
                    KIND_REFUSE,
                    body=pack_refuse(reason, self.role, self.catalog_hash, self.fw_version),
                ),
                now,
            )
            text = "%s: ours v%d catalog %08x, peer v%d catalog %08x fw %s" % (
                REFUSE_TEXT[reason],
                PROTOCOL_VERSION,
                self.catalog_hash,
                hello.version,
                hello.catalog_hash,
                hello.fw_version,
            )
            self._set_refused(Refused(reason, text, False), events)
            return
        if hello.epoch in self._dead_peers:
            if hello.peer_epoch != self.epoch:
                self._count("rx_stale_hello")
                return
            # it echoes our current epoch, so it is no leftover: a peer that never came up
            # keeps its epoch while we timed out and moved on
            self._dead_peers.remove(hello.epoch)
        if hello.epoch != self.peer_epoch:
            if self.up:
                # a new incarnation of the peer: the old session and its numbering are gone
                self._count("peer_resets")
                events.append(self._drop(DOWN_PEER_RESET, now))
            elif self.peer_epoch:
                self._bury(self.peer_epoch)
            self.peer_epoch = hello.epoch
            self.peer_fw = hello.fw_version
            self.peer_reset_cause = hello.reset_cause
            self._set_session(session_tag(self.epoch, self.peer_epoch))
            self._emit_hello(now)
            if hello.peer_epoch == self.epoch:
                self._go_up(now, events)
            return
        if hello.peer_epoch == self.epoch:
            if not self.up:
                self._go_up(now, events)
            self._last_rx = now
            self._emit_ack(now)  # a frame of the session completes the peer's side
        elif not self.up:
            self._emit_hello(now)

    def _on_refuse(self, frame: Frame, events: "list[object]") -> None:
        body = frame.body
        if len(body) < _REFUSE_LEN + 1:
            self._count("rx_refuse")
            return
        reason, _role, version, chash = struct.unpack(_REFUSE_FMT, body[:_REFUSE_LEN])
        try:
            fw = bytes(body[_REFUSE_LEN + 1 :]).decode()
        except UnicodeError:
            fw = "?"
        text = "peer refused: %s: peer v%d catalog %08x fw %s, ours v%d catalog %08x" % (
            REFUSE_TEXT.get(reason, "reason %d" % reason),
            version,
            chash,
            fw,
            PROTOCOL_VERSION,
            self.catalog_hash,
        )
        self._set_refused(Refused(reason, text, True), events)

    def _refuse_version(self, version: int, now: int, events: "list[object]") -> None:
        self._emit(
            Frame(
                KIND_REFUSE,
                body=pack_refuse(REFUSE_VERSION, self.role, self.catalog_hash, self.fw_version),
            ),
            now,
        )
        text = "%s: ours v%d, peer v%d" % (REFUSE_TEXT[REFUSE_VERSION], PROTOCOL_VERSION, version)
        self._set_refused(Refused(REFUSE_VERSION, text, False), events)

    def _set_refused(self, refused: Refused, events: "list[object]") -> None:
        if self.refused is None or self.refused.text != refused.text:
            events.append(refused)
        self.refused = refused
