"""Link recovery (issue 19): RFC 6298 retransmission timer, selective repeat with immediate
NACKs, a delimiter before every frame, the 200-byte body limit. A deterministic line with
latency runs on simulated milliseconds; nothing here depends on wall-clock speed."""

from __future__ import annotations

import random
import struct

from protocol import link_catalog as lcat
from protocol import link_channel as lch
from protocol import link_frame as lf
from tests.protocol.channel_harness import split_frames


class Line:
    """Two channels on a FIFO line with per-frame latency; the host ticks only every
    `host_tick_ms` (its asyncio ticker), the device every millisecond."""

    def __init__(self, latency: tuple[int, int] = (1, 1), host_tick_ms: int = 1, seed: int = 3):
        self.now = 0
        self.rng = random.Random(seed)
        self.latency = latency
        self.host_tick_ms = host_tick_ms
        ids = iter(range(100, 200))
        chash = lcat.CATALOG_HASH
        self.host = lch.Channel(
            lch.ROLE_HOST, "host", 0, catalog_hash=chash, rand32=lambda: next(ids)
        )
        self.dev = lch.Channel(
            lch.ROLE_DEVICE, "dev", 0, catalog_hash=chash, rand32=lambda: next(ids)
        )
        self.lanes: dict[str, list[tuple[int, bytes]]] = {"up": [], "down": []}
        self.got: dict[str, list[tuple[int, bytes]]] = {"host": [], "dev": []}
        self.drop: set[int] = set()  # indexes of device->host DATA frames to lose
        self.mangle = lambda frame: frame
        self.data_frames = 0
        self.sent_log: list[tuple[int, int]] = []  # (time, seq) of every DATA transmission

    def _collect(self) -> None:
        for name, ch in (("up", self.dev), ("down", self.host)):
            for frame in split_frames(ch.outgoing()):
                if name == "up":
                    decoded = [
                        f for f in lf.FrameReader(ch.session).feed(frame) if isinstance(f, lf.Frame)
                    ]
                    if decoded and decoded[0].kind == lf.KIND_DATA:
                        self.sent_log.append((self.now, decoded[0].seq))
                        index = self.data_frames
                        self.data_frames += 1
                        if index in self.drop:
                            continue
                lane = self.lanes[name]
                at = self.now + self.rng.randint(*self.latency)
                if lane:
                    at = max(at, lane[-1][0])  # a serial line keeps order
                lane.append((at, self.mangle(frame)))

    def step(self) -> None:
        self.now += 1
        for name, ch, who in (("up", self.host, "host"), ("down", self.dev, "dev")):
            lane = self.lanes[name]
            while lane and lane[0][0] <= self.now:
                events = ch.receive(lane.pop(0)[1], self.now)
                self.got[who] += [(e.msg_id, e.body) for e in events if isinstance(e, lch.Received)]
        if self.now % self.host_tick_ms == 0:
            self.host.tick(self.now)
        self.dev.tick(self.now)
        self._collect()

    def run(self, ms: int) -> None:
        for _ in range(ms):
            self.step()

    def up(self) -> Line:
        self.run(300)
        assert self.host.up and self.dev.up
        return self

    def coins(self, n: int, start: int = 0) -> list[int]:
        sent = []
        for i in range(start, start + n):
            self.dev.send(lcat.MSG_COIN, struct.pack("<HBH", 100, 3, i), self.now)
            sent.append(i)
        self._collect()
        return sent

    def counters(self) -> list[int]:
        return [struct.unpack("<HBH", body)[2] for mid, body in self.got["host"]]


def test_a_clean_line_with_jitter_and_delayed_acks_never_retransmits() -> None:
    # 60 s of a steady COIN stream; the host acknowledges on its 10 ms ticker, the line
    # jitters between 1 and 8 ms: RTO = SRTT + 4 RTTVAR must cover all of it
    line = Line(latency=(1, 8), host_tick_ms=10).up()
    counter = 0
    for ms in range(60_000):
        if ms % 3 == 0 and line.dev.can_send():
            line.coins(1, counter)
            counter += 1
        line.step()
    line.run(500)
    assert line.counters() == list(range(counter))
    assert counter > 15_000
    assert line.dev.stats.get("retransmits", 0) == 0
    assert line.host.stats.get("rx_duplicate", 0) == 0


def test_rto_is_srtt_plus_four_rttvar() -> None:
    line = Line(latency=(44, 44)).up()
    rtt = 44 + lch.ACK_DELAY_MS + 44  # a lone frame waits out the delayed ACK
    assert rtt < lch.RTO_MS  # so the first frame is not retransmitted (Karn: no sample)
    line.coins(1)
    line.run(200)
    # first sample R: SRTT = R, RTTVAR = R/2, RTO = R + 4 R/2
    assert line.dev.rto == min(3 * rtt, lch.RTO_MAX_MS)
    for i in range(1, 40):
        line.coins(1, i)
        line.run(200)
    # with steady samples RTTVAR decays: RTO -> SRTT + G (the clock granularity)
    assert line.dev.rto == rtt + lch.RTO_GRANULARITY_MS
    assert line.dev.stats.get("retransmits", 0) == 0


def test_backoff_doubles_up_to_its_cap_and_karn_ignores_retransmitted_frames() -> None:
    line = Line().up()
    rto0 = line.dev.rto
    line.drop = set(range(100))  # every DATA frame from now on is lost
    line.coins(1)
    line.run(600)  # short of the host's link timeout: it hears nothing meanwhile
    times = [t for t, _ in line.sent_log]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert gaps[:2] == [rto0, min(2 * rto0, lch.RTO_MAX_MS)]
    assert set(gaps[2:]) == {lch.RTO_MAX_MS}
    assert all(seq == 0 for _, seq in line.sent_log)  # always the one lost frame
    line.drop = set()
    line.run(lch.RTO_MAX_MS + 10)
    assert line.counters() == [0]
    # the ACK of a frame sent several times is no RTT sample: the backoff stays...
    assert line.dev.rto == lch.RTO_MAX_MS
    line.coins(1, 1)
    line.run(50)
    # ...until a frame sent once is acknowledged
    assert line.dev.rto < lch.RTO_MAX_MS


def test_one_lost_frame_is_resent_alone_and_at_once() -> None:
    line = Line().up()
    line.drop = {2}
    line.coins(lch.WINDOW)
    line.run(20)  # far less than any RTO: only a NACK can have brought it back
    assert line.counters() == list(range(lch.WINDOW))
    assert line.dev.stats["retransmits"] == 1
    assert [seq for _, seq in line.sent_log].count(2) == 2
    assert line.host.stats["rx_out_of_order"] == lch.WINDOW - 3
    assert line.host.stats.get("rx_duplicate", 0) == 0
    assert line.dev.in_flight() == 0


def test_two_gaps_in_one_window_are_each_resent_once() -> None:
    line = Line().up()
    line.drop = {1, 4}
    line.coins(lch.WINDOW)
    line.run(20)
    assert line.counters() == list(range(lch.WINDOW))
    assert line.dev.stats["retransmits"] == 2
    assert line.host.stats.get("rx_duplicate", 0) == 0


def test_a_lost_retransmission_is_probed_again_before_the_timer() -> None:
    line = Line().up()
    line.drop = {0, lch.WINDOW}  # frame 0, then its fast retransmission
    line.coins(lch.WINDOW)  # a full window: nothing sent after the retransmission shows it lost
    line.run(lch.RTO_MIN_MS - 1)
    assert line.counters() == list(range(lch.WINDOW))
    assert line.dev.stats["probes"] == 1
    assert line.dev.stats.get("timeouts", 0) == 0
    assert line.dev.stats["retransmits"] == 2
    assert line.host.stats.get("rx_duplicate", 0) == 0


def test_a_lost_probe_leaves_recovery_to_the_timer() -> None:
    line = Line().up()
    line.drop = {0, lch.WINDOW, lch.WINDOW + 1}  # frame 0, its retransmission and the probe
    line.coins(lch.WINDOW)
    line.run(lch.RTO_MAX_MS + 50)
    assert line.counters() == list(range(lch.WINDOW))
    assert line.dev.stats["probes"] == 1  # one probe per retransmission, not a storm
    assert line.dev.stats["timeouts"] == 1
    assert line.host.stats.get("rx_duplicate", 0) == 0


def test_noise_before_every_frame_costs_no_frame() -> None:
    line = Line().up()
    line.mangle = lambda frame: b"\x13\x37\xfe" + frame  # idle-line noise, no 0x00 in it
    line.coins(lch.WINDOW)
    line.run(50)
    assert line.counters() == list(range(lch.WINDOW))
    assert line.dev.stats.get("retransmits", 0) == 0
    assert line.host.stats["rx_cobs"] >= lch.WINDOW


def test_control_frame_body_is_limited_to_200_bytes() -> None:
    def control(body: bytes) -> bytes:
        raw = bytes((lf.PROTOCOL_VERSION, lf.KIND_REFUSE)) + body
        return raw + struct.pack("<I", lf.crc32(raw))

    assert lf.unpack_frame(control(bytes(200))).body == bytes(200)
    try:
        lf.unpack_frame(control(bytes(201)))
        raise AssertionError("a 201-byte body was accepted")
    except lf.DecodeError as exc:
        assert exc.reason == "length"


def test_a_version_1_peer_is_refused_and_told_why() -> None:
    hello = lch.Hello(lch.ROLE_DEVICE, lcat.CATALOG_HASH, 77, 0, 0, "fw-old", version=1).pack()
    raw = b"\x01\x04" + bytes(6) + hello  # version 1 layout: ver, kind, session, seq, ack
    raw += struct.pack("<I", lf.crc32(raw))
    host = lch.Channel(lch.ROLE_HOST, "host", 0, catalog_hash=lcat.CATALOG_HASH, rand32=lambda: 5)
    events = host.receive(b"\x00" + lf.cobs_encode(raw) + b"\x00", 0)
    refused = [e for e in events if isinstance(e, lch.Refused)]
    assert refused and "peer v1" in refused[0].text and not host.up
    reply = [f for f in lf.FrameReader().feed(host.outgoing()) if isinstance(f, lf.Frame)]
    assert [f.kind for f in reply] == [lf.KIND_REFUSE]
    assert reply[0].body[2] == lf.PROTOCOL_VERSION  # our version, for the old peer's log
