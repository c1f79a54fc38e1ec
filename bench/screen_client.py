"""The kiosk screen as its own page sees it: a WebSocket client that says hello with the
screen token (`host/ui/server.py`), keeps the last view and sends touches."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed


class ScreenGone(ConnectionError):
    """The host's end of the screen went away (the host died)."""


class ScreenTimeout(TimeoutError):
    """The screen did not reach the awaited state in time."""


class Screen:
    def __init__(self) -> None:
        self.ws: ClientConnection | None = None
        self.view: dict[str, Any] = {}
        self.states: list[str] = []  # every screen shown, in order
        self._reader: asyncio.Task[None] | None = None
        self.closed = asyncio.Event()

    @classmethod
    async def open(cls, url: str, token: str, timeout: float = 10.0) -> Screen:
        """``url``: the screen's http:// address; the page's origin is that address (the
        server accepts no other)."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        self = cls()
        self.ws = await connect(f"ws://{parts.netloc}/ws", origin=origin, open_timeout=timeout)  # type: ignore[arg-type]
        await self.ws.send(json.dumps({"type": "hello", "token": token}))
        self._reader = asyncio.create_task(self._read())
        deadline = time.monotonic() + timeout
        while not self.view and not self.closed.is_set():
            if time.monotonic() > deadline:
                await self.close()
                raise ScreenTimeout("no view after hello")
            await asyncio.sleep(0.02)
        return self

    async def _read(self) -> None:
        assert self.ws is not None
        try:
            async for raw in self.ws:
                msg = json.loads(raw)
                if isinstance(msg, dict) and msg.get("type") == "view":
                    self.view = msg
                    self.states.append(str(msg.get("screen")))
        except ConnectionClosed:
            pass
        finally:
            self.closed.set()

    @property
    def state(self) -> str:
        return str(self.view.get("screen", ""))

    async def touch(self, event: str, **fields: Any) -> None:
        if self.ws is None or self.closed.is_set():
            raise ScreenGone(event)
        try:
            await self.ws.send(json.dumps({"event": event, **fields}))
        except ConnectionClosed as exc:
            raise ScreenGone(event) from exc

    async def wait(self, *states: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while self.state not in states:
            if self.closed.is_set():
                raise ScreenGone(f"waiting for {states}")
            if time.monotonic() > deadline:
                raise ScreenTimeout(f"waited for {list(states)}, screen is {self.state!r}")
            await asyncio.sleep(0.01)
        return self.state

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
