"""M1: idle plain TCP connections from one address (no TLS, no certificate) neither starve
the kiosks nor fill the log: the center admits a bounded number per address, closes the rest
at once, and drops those that do not finish the TLS handshake within its deadline."""

from __future__ import annotations

import resource
import select
import socket
import time
from urllib.parse import urlsplit

import pytest

from center.guard import ConnectionGuard, Limits, RateLimitFilter
from center.simkiosk import client

from ..conftest import Live

FLOOD = 600
ATTACKER = "127.0.0.2"  # another loopback address than the kiosk's 127.0.0.1


def closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except (ConnectionResetError, BlockingIOError) as exc:
        return isinstance(exc, ConnectionResetError)


@pytest.mark.slow
def test_an_idle_flood_does_not_starve_the_kiosks(live: Live) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < FLOOD + 200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    url = urlsplit(live.url)
    with client(live.url, live.state) as http:  # both workers up before the flood
        for _ in range(4):
            assert http.post("/v1/challenge").status_code == 200
    lines_before = len(live.output)
    flood: list[socket.socket] = []
    try:
        for _ in range(FLOOD):
            s = socket.socket()
            s.bind((ATTACKER, 0))
            s.connect((url.hostname, url.port))
            s.setblocking(False)
            flood.append(s)
        # the kiosk is served while the flood holds its connections
        with client(live.url, live.state) as http:
            start = time.monotonic()
            assert http.post("/v1/challenge").status_code == 200
            assert time.monotonic() - start < 5
        # most were refused at once: at most 64 per worker (2 workers) were let in
        time.sleep(0.5)
        readable, _, _ = select.select(flood, [], [], 0)
        refused = sum(1 for s in readable if closed_by_server(s))
        assert refused >= FLOOD - 2 * 64
        # the admitted ones never started TLS: gone after the 5 s handshake deadline
        deadline = time.monotonic() + 12
        open_ = [s for s in flood if s not in readable]
        while open_ and time.monotonic() < deadline:
            ready, _, _ = select.select(open_, [], [], 0.5)
            open_ = [s for s in open_ if s not in ready or not closed_by_server(s)]
        assert not open_
    finally:
        for s in flood:
            s.close()
    assert len(live.output) - lines_before < 100  # a bounded trace, not a line per socket


def test_guard_counts_and_rates() -> None:
    now = [0.0]
    guard = ConnectionGuard(Limits(per_client=2, total=3, rate_per_s=1.0, burst=3),
                            clock=lambda: now[0])  # fmt: skip
    assert guard.admit("a") and guard.admit("a")
    assert not guard.admit("a")  # per client
    assert guard.admit("b")
    assert not guard.admit("c")  # in total
    guard.release("a")
    assert guard.admit("a")  # its third token of the burst
    guard.release("a")
    assert not guard.admit("a")  # the burst is spent: one a second from now on
    now[0] += 1.0
    assert guard.admit("a")
    assert guard.total == 3 and guard.refused == 3


def test_log_lines_of_one_kind_are_rate_limited() -> None:
    import logging

    f = RateLimitFilter(per_window=3, window_s=10.0)
    kept = [
        f.filter(logging.LogRecord("asyncio", logging.ERROR, __file__, 1, "handshake failed",
                                   None, None))  # fmt: skip
        for _ in range(1000)
    ]
    assert sum(kept) == 3
