"""Mutual TLS plumbing: hand the verified client certificate to the application.

uvicorn checks the client certificate against the kiosk CA during the handshake
(``ssl_cert_reqs=CERT_REQUIRED``) but does not put it into the ASGI scope. This protocol
class adds it as the ASGI TLS extension (``scope["extensions"]["tls"]["client_cert_chain"]``,
PEM here as DER bytes), once per connection, so the kiosk's identity always comes from the
handshake and never from a request.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Mapping
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

TLS_EXT = "tls"


def _with_peer_cert(app: Any, der: bytes | None) -> Any:
    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        extensions = dict(scope.get("extensions") or {})
        extensions[TLS_EXT] = {"client_cert_der": der}
        await app({**scope, "extensions": extensions}, receive, send)

    return wrapped


class MutualTlsH11Protocol(H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # asyncio only disables Nagle on sockets created with proto=IPPROTO_TCP; uvicorn's
        # bound socket has proto 0, so every response (headers, then body) would wait for
        # the client's delayed ACK: ~40 ms per request.
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        ssl_object = transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        self.app = _with_peer_cert(self.config.loaded_app, der)


def client_cert_der(scope: Mapping[str, Any]) -> bytes | None:
    tls = (scope.get("extensions") or {}).get(TLS_EXT) or {}
    der = tls.get("client_cert_der")
    return der if isinstance(der, bytes) else None
