"""The IPP transport: POST application/ipp over HTTP (ipp://) or HTTPS (ipps://)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import httpx

from drivers.printer.ipp_core import IppMessage, decode_message


class PrinterUnreachable(ConnectionError):
    """The printer did not answer (network down, powered off, wrong address)."""


def http_url(uri: str) -> str:
    """ipp://host[:631]/path -> http://host:631/path (ipps -> https:443)."""
    parts = urlsplit(uri)
    if parts.scheme not in ("ipp", "ipps", "http", "https"):
        raise ValueError(f"not an IPP URI: {uri!r}")
    scheme = {"ipp": "http", "ipps": "https"}.get(parts.scheme, parts.scheme)
    default = {"ipp": 631, "ipps": 443}.get(parts.scheme)
    netloc = parts.netloc
    if parts.port is None and default is not None:
        netloc = f"{parts.hostname}:{default}"
    return urlunsplit((scheme, netloc, parts.path or "/", "", ""))


class IppHttp:
    """One printer's HTTP endpoint; a kept-alive connection, reconnecting as needed."""

    def __init__(self, uri: str, timeout: float = 10.0, verify_tls: bool = True) -> None:
        self.uri = uri
        self.url = http_url(uri)
        self._client = httpx.Client(timeout=timeout, verify=verify_tls)

    def exchange(self, request: bytes) -> IppMessage:
        try:
            reply = self._client.post(
                self.url, content=request, headers={"Content-Type": "application/ipp"}
            )
        except httpx.HTTPError as exc:
            raise PrinterUnreachable(f"{self.uri}: {exc.__class__.__name__}") from exc
        if reply.status_code != 200:
            raise PrinterUnreachable(f"{self.uri}: HTTP {reply.status_code}")
        return decode_message(reply.content)

    def close(self) -> None:
        self._client.close()
