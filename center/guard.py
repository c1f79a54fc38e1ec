"""What keeps one client from starving the kiosks: limits on connections per client address
and in total, a new-connection rate per address, a TLS handshake deadline, a file limit
sized for them, and log lines rate-limited so a flood cannot fill the disk.

The limits sit where a connection is accepted, before the TLS handshake: a socket that never
starts TLS is otherwise invisible to the HTTP layer until asyncio's 60 s handshake timeout.
uvicorn neither exposes the accept nor that timeout, so each worker runs a :class:`Server`
that wraps the listening socket and passes the deadline to ``create_server``; its worker
processes are :class:`GuardedProcess` (see :func:`center.server.serve`).
"""

from __future__ import annotations

import asyncio
import logging
import resource
import socket
import struct
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import uvicorn
from uvicorn.supervisors.multiprocess import Process

from center.config import CenterConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    per_client: int = 64  # open connections from one address, per worker
    total: int = 1024  # open connections, per worker
    rate_per_s: float = 50.0  # new connections per address per second (sustained) ...
    burst: int = 100  # ... after a first burst of this many
    handshake_timeout_s: float = 5.0


class ConnectionGuard:
    """Admission at accept time. One per worker; asyncio accepts on one thread, but the
    counts are locked anyway since a connection is released wherever it is closed."""

    def __init__(self, limits: Limits, clock: Any = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self.open: defaultdict[str, int] = defaultdict(int)
        self.total = 0
        self.tokens: dict[str, tuple[float, float]] = {}  # address -> (tokens, at)
        self.refused = 0
        self._lock = threading.Lock()

    def admit(self, address: str) -> bool:
        with self._lock:
            if self.total >= self.limits.total or self.open[address] >= self.limits.per_client:
                self.refused += 1
                return False
            now = self.clock()
            tokens, at = self.tokens.get(address, (float(self.limits.burst), now))
            tokens = min(float(self.limits.burst), tokens + (now - at) * self.limits.rate_per_s)
            if tokens < 1.0:
                self.tokens[address] = (tokens, now)
                self.refused += 1
                return False
            self.tokens[address] = (tokens - 1.0, now)
            if len(self.tokens) > 4 * self.limits.total:  # forget addresses long quiet
                full = float(self.limits.burst)
                self.tokens = {
                    a: (t, s) for a, (t, s) in self.tokens.items()
                    if t + (now - s) * self.limits.rate_per_s < full
                }  # fmt: skip
            self.open[address] += 1
            self.total += 1
            return True

    def release(self, address: str) -> None:
        with self._lock:
            self.total -= 1
            self.open[address] -= 1
            if self.open[address] <= 0:
                del self.open[address]


class _Connection(socket.socket):
    """An accepted socket that gives its place back when closed (asyncio's transport closes
    it exactly when the connection ends, TLS or not)."""

    guard: ConnectionGuard | None = None
    address = ""

    def close(self) -> None:
        guard, self.guard = self.guard, None
        if guard is not None:
            guard.release(self.address)
        super().close()


class GuardedListener(socket.socket):
    guard: ConnectionGuard

    @classmethod
    def wrap(cls, sock: socket.socket, guard: ConnectionGuard) -> GuardedListener:
        listener = cls(sock.family, sock.type, sock.proto, fileno=sock.detach())
        listener.guard = guard
        return listener

    def accept(self) -> tuple[socket.socket, Any]:  # type: ignore[override]
        while True:  # refused ones are closed here; BlockingIOError ends the round
            fd, addr = self._accept()  # type: ignore[attr-defined]
            conn = _Connection(self.family, self.type, self.proto, fileno=fd)
            address = addr[0] if isinstance(addr, tuple) else str(addr)
            if self.guard.admit(address):
                conn.guard, conn.address = self.guard, address
                return conn, addr
            # RST rather than FIN: the refused socket does not linger in TIME_WAIT
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()


class RateLimitFilter(logging.Filter):
    """At most ``per_window`` records of one kind (logger, level, message template) per
    window; then one line saying how many were dropped."""

    def __init__(self, per_window: int = 20, window_s: float = 10.0) -> None:
        super().__init__()
        self.per_window, self.window_s = per_window, window_s
        self.seen: dict[tuple[str, int, str], tuple[float, int, int]] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, str(record.msg))
        now = time.monotonic()
        with self._lock:
            start, count, dropped = self.seen.get(key, (now, 0, 0))
            if now - start >= self.window_s:
                if dropped:
                    record.msg = f"{record.msg} [{dropped} like this dropped in the last window]"
                start, count, dropped = now, 0, 0
            count += 1
            keep = count <= self.per_window
            self.seen[key] = (start, count, dropped + (0 if keep else 1))
            if len(self.seen) > 10_000:
                self.seen.clear()
            return keep


def install_log_limits() -> None:
    limiter = RateLimitFilter()
    for name in ("", "asyncio", "uvicorn", "uvicorn.error", "uvicorn.access"):
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, RateLimitFilter) for f in handler.filters):
                handler.addFilter(limiter)


def raise_file_limit(wanted: int = 65536) -> int:
    """The soft limit up to the hard one: connections are bounded by the guard, not by
    running out of descriptors (which also stops the kiosks' connections)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft


def limits_of(config: CenterConfig) -> Limits:
    return Limits(
        per_client=config.max_connections_per_client,
        total=config.max_connections,
        handshake_timeout_s=config.tls_handshake_timeout_s,
    )


class Server(uvicorn.Server):
    """uvicorn's server with the guard around its listening sockets; the limits come from
    the center's configuration, which every worker process inherits."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        install_log_limits()
        limits = limits_of(CenterConfig.from_env())
        loop = asyncio.get_running_loop()
        guard = ConnectionGuard(limits)
        wrapped = [GuardedListener.wrap(s, guard) for s in sockets or ()]
        original = loop.create_server

        async def create_server(*args: Any, **kwargs: Any) -> asyncio.Server:
            kwargs.setdefault("ssl_handshake_timeout", limits.handshake_timeout_s)
            return await original(*args, **kwargs)

        loop.create_server = create_server  # type: ignore[method-assign]
        try:
            await super().startup(sockets=list(wrapped) or None)  # type: ignore[arg-type]
        finally:
            loop.create_server = original  # type: ignore[method-assign]


class GuardedProcess(Process):
    """uvicorn's worker process, running the guarded server."""

    @property
    def server(self) -> uvicorn.Server:
        if self._server is None:
            self._server = Server(config=self.config)
        return self._server
