"""A deterministic in-memory wire between two sans-IO channels, with fault actions."""

from __future__ import annotations

import struct

from protocol import link_catalog as lcat
from protocol import link_channel as lch


def split_frames(data: bytes) -> list[bytes]:
    """Frames as the line carries them: each with the delimiter before it and after it."""
    out = []
    start = 0
    while True:
        body = start
        while body < len(data) and data[body] == 0:
            body += 1
        end = data.find(b"\x00", body)
        if end < 0:
            if start < len(data):
                out.append(data[start:])
            return out
        out.append(data[start : end + 1])
        start = end + 1


class Side:
    def __init__(self, role: int, name: str, now: int, seed: int, **kw: int) -> None:
        counter = iter(range(seed * 1000 + 1, seed * 1000 + 1000))
        kw.setdefault("catalog_hash", lcat.CATALOG_HASH)
        self.channel = lch.Channel(role, name, now, rand32=lambda: next(counter), **kw)
        self.events: list[object] = []
        self.delivered: list[tuple[int, int]] = []  # (session the sender stamped, n)
        self.sent_in: dict[int, int] = {}  # session -> messages sent in it
        self.stale_deliveries = 0

    def handle(self, events: list[object]) -> None:
        for ev in events:
            self.events.append(ev)
            if isinstance(ev, lch.Received):
                session, n = struct.unpack("<II", ev.body[:8])
                if session != self.channel.session:
                    self.stale_deliveries += 1
                self.delivered.append((session, n))

    def try_send(self, now: int, count: int = 1) -> int:
        sent = 0
        for _ in range(count):
            if not self.channel.can_send():
                break
            s = self.channel.session
            n = self.sent_in.get(s, 0)
            self.channel.send(0x41, struct.pack("<II", s, n) + b"x" * (n % 7), now)
            self.sent_in[s] = n + 1
            sent += 1
        return sent


class Wire:
    def __init__(self, link_timeout_ms: int = lch.LINK_TIMEOUT_MS) -> None:
        self.now = 0
        kw = {"link_timeout_ms": link_timeout_ms}
        self.a = Side(lch.ROLE_HOST, "host", 0, 1, **kw)
        self.b = Side(lch.ROLE_DEVICE, "dev", 0, 2, **kw)
        self.inflight: dict[str, list[bytes]] = {"ab": [], "ba": []}

    def collect(self) -> None:
        self.inflight["ab"] += split_frames(self.a.channel.outgoing())
        self.inflight["ba"] += split_frames(self.b.channel.outgoing())

    def deliver(self, direction: str, index: int | None = None) -> None:
        queue = self.inflight[direction]
        if not queue:
            return
        data = queue.pop(0 if index is None else index % len(queue))
        dest = self.b if direction == "ab" else self.a
        dest.handle(dest.channel.receive(data, self.now))
        self.collect()

    def tick(self, dt: int) -> None:
        self.now += dt
        self.a.handle(self.a.channel.tick(self.now))
        self.b.handle(self.b.channel.tick(self.now))
        self.collect()

    def settle(self, ms: int, send: bool = True) -> None:
        """A clean line for `ms`: deliver everything in order, step time by 10 ms."""
        for _ in range(ms // 10):
            if send:
                self.a.try_send(self.now)
                self.b.try_send(self.now)
            self.collect()
            while self.inflight["ab"] or self.inflight["ba"]:
                self.deliver("ab")
                self.deliver("ba")
            self.tick(10)

    def check_exactly_once(self) -> None:
        for side in (self.a, self.b):
            assert side.stale_deliveries == 0
            per_session: dict[int, list[int]] = {}
            for session, n in side.delivered:
                per_session.setdefault(session, []).append(n)
            for ns in per_session.values():
                assert ns == list(range(len(ns))), "lost, duplicated or reordered delivery"
