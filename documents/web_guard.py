"""ASGI middleware for a public upload page: a body limit enforced while the body streams
in, a per-client rate limit on uploads, and security headers on every response.

The refusals they send are rendered by the page itself (``Refuse``), so a visitor sees the
page's own HTML and an API client JSON."""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]
# (path, status, code, message) -> (content type, body)
Refuse = Callable[[str, int, str, str], tuple[str, bytes]]


async def send_refusal(send: Send, refuse: Refuse, path: str, status: int, code: str,
                       message: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    content_type, body = refuse(path, status, code, message)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type.encode()),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close"), *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


class StreamingBodyLimit:
    """Refuse a body over ``limit`` bytes: at once by its Content-Length, else as soon as
    the bytes received pass the limit — nothing beyond it is read, buffered or spooled."""

    def __init__(self, app: App, limit: int, refuse: Refuse) -> None:
        self.app, self.limit, self.refuse = app, limit, refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        message = f"file too large ({self.limit // (1024 * 1024)} MB at most)"
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await send_refusal(send, self.refuse, path, 413, "too_large", message)
            return
        received = 0
        refused = False
        started = False

        async def counted() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            msg = await receive()
            if msg["type"] == "http.request":
                received += len(msg.get("body", b""))
                if received > self.limit:
                    refused = True
                    if not started:
                        await send_refusal(send, self.refuse, path, 413, "too_large", message)
                    return {"type": "http.disconnect"}  # the application stops reading
            return msg

        async def guarded_send(msg: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 is the answer; whatever the application says is dropped
            started = True
            await send(msg)

        try:
            await self.app(scope, counted, guarded_send)
        except Exception:
            if not refused:
                raise  # (a disconnect we caused is not an error of the application)


class RateLimit:
    """A token bucket per client address for requests with a body (the uploads): ``burst``
    at once, then ``per_minute``. IPv6 clients count per /64, the block one subscriber
    gets. The client address is the TCP peer's (no forwarding headers are believed)."""

    MAX_CLIENTS = 10_000

    def __init__(self, app: App, per_minute: float, burst: int, refuse: Refuse,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.app, self.rate, self.burst, self.refuse = app, per_minute / 60, burst, refuse
        self.clock = clock
        self.buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, at)

    def _client(self, scope: Scope) -> str:
        host = (scope.get("client") or ("unknown", 0))[0]
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return str(host)
        if ip.version == 6:
            return str(ipaddress.ip_network(f"{ip}/64", strict=False))
        return str(ip)

    def take(self, client: str) -> float:
        """0 if the client may go ahead (a token is taken), else seconds until it may."""
        now = self.clock()
        tokens, at = self.buckets.pop(client, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / self.rate
        if len(self.buckets) >= self.MAX_CLIENTS:  # forget the longest-unseen client
            self.buckets.pop(next(iter(self.buckets)))
        self.buckets[client] = (tokens, now)
        return wait

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") in ("POST", "PUT"):
            wait = self.take(self._client(scope))
            if wait > 0:
                retry = str(math.ceil(wait)).encode()
                await send_refusal(send, self.refuse, scope.get("path", ""), 429,
                                   "too_many_requests", "too many checks from your address; "
                                   "try again later", [(b"retry-after", retry)])
                return
        await self.app(scope, receive, send)


class SecurityHeaders:
    """Adds ``headers`` to every response (replacing any of the same name)."""

    def __init__(self, app: App, headers: dict[str, str]) -> None:
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        self.names = {k for k, _ in self.headers}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(msg: Message) -> None:
            if msg["type"] == "http.response.start":
                kept = [(k, v) for k, v in msg.get("headers", []) if k.lower() not in self.names]
                msg["headers"] = kept + self.headers
            await send(msg)

        await self.app(scope, receive, with_headers)
