"""Host <-> coprocessor link, the reliable channel (sans-IO): handshake, sessions, RFC 6298
retransmission timer, selective repeat, heartbeats.

It carries (message id, body) pairs and knows no message: the catalog is the caller's, and
only its hash (the `catalog_hash` both ends compare in HELLO) reaches the channel. ONE source
for both runtimes, like link_frame: no dataclasses, enum or typing at run time, no f-strings,
only `struct` and `os`. protocol/SPEC.md is the normative description.

Time is passed in by the caller as milliseconds on a wrapping 2**30 tick counter (what
MicroPython's time.ticks_ms() returns); every comparison goes through ticks_diff().
"""

import struct

# MicroPython has no typing module; mypy treats this name as true, both runtimes as false,
# and neither runtime evaluates annotations, so typing names appear only inside them.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

# On the host the link modules are the `protocol` package; on the board they sit side by side
# at the root. Following our own name keeps one copy of link_frame per process, so its classes
# (DecodeError, Frame) are the very ones the importer sees. (mypy types the first branch.)
if __name__ != "link_channel":
    from protocol.link_frame import (  # type: ignore[import-not-found,unused-ignore]
        KIND_ACK,
        KIND_DATA,
        KIND_HELLO,
        KIND_NACK,
        KIND_REFUSE,
        MAX_PAYLOAD,
        PROTOCOL_VERSION,
        SEQ_MOD,
        DecodeError,
        Frame,
        FrameReader,
        cobs_encode_into,
        crc32,
        pack_raw,
        session_seed,
    )
else:
    from link_frame import (  # type: ignore[import-not-found,no-redef,unused-ignore]
        KIND_ACK,
        KIND_DATA,
        KIND_HELLO,
        KIND_NACK,
        KIND_REFUSE,
        MAX_PAYLOAD,
        PROTOCOL_VERSION,
        SEQ_MOD,
        DecodeError,
        Frame,
        FrameReader,
        cobs_encode_into,
        crc32,
        pack_raw,
        session_seed,
    )

MAX_FW_VERSION = 32

ROLE_HOST = 0
ROLE_DEVICE = 1

# --- reliability and timing constants (ms) ---------------------------------------------
WINDOW = 8
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
        *,
        catalog_hash: int,
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
        cobs_encode_into(out, pack_raw(kind, seq, ack, msg_id, body, self._reader.seed))
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
