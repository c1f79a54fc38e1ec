"""The kiosk screen as a web app: static HTML/CSS/JS, live state over a WebSocket.

The page is dumb: it renders the view the session machine announces (``Show`` actions) with
texts from the message catalogs, and sends the citizen's touches back.

The WebSocket is the citizen's channel (what they see, what they touch, the PIN digits), so
it serves exactly one page, the kiosk's own Chromium:
- the handshake's ``Origin`` must be this server's own address (an IP literal and port as the
  socket was reached, or ``localhost`` on loopback): a page of another site, or a DNS-rebound
  name, is refused before anything is sent;
- the page's first message must be ``{"type": "hello", "token": ...}`` with the screen token
  the kiosk handed to its Chromium at start (`screen_token.py`); nothing is sent before it;
- a newly authenticated page replaces the previous one, which is closed (Chromium reloading
  after a crash must not find its old, half-dead socket holding the screen).

Nothing here serves the simulator: its injection endpoints and panel are mounted by the
simulation's own wiring (`sim/screen`, `sim/panel`), never by a switch of the kiosk service.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from host import i18n
from host.session.machine import SessionMachine
from host.session.ports import VoicePort
from host.session.runner import Executor, SessionRunner
from host.session.states import State

from . import screen_token
from .touch import PinPad, UiInputError, parse

STATIC = Path(__file__).resolve().parent / "static"
log = logging.getLogger("kofu.ui")
HELLO_TIMEOUT_S = 5.0
CLOSE_UNAUTHORISED = 4401  # no valid token in the first message
CLOSE_FORBIDDEN_ORIGIN = 4403
CLOSE_REPLACED = 4409  # another authenticated page took the screen


class ScreenHub:
    """The session's ScreenPort: keeps the last view and pushes each new one to the page."""

    def __init__(self) -> None:
        self.clients: set[WebSocket] = set()  # at most one: the authenticated page
        self.last: dict[str, Any] = {}
        self.version = 0

    async def take(self, socket: WebSocket) -> None:
        """``socket`` becomes the screen's only page; the one before it is closed."""
        previous, self.clients = self.clients, {socket}
        for ws in previous:
            with contextlib.suppress(Exception):
                await ws.close(CLOSE_REPLACED)

    async def show(self, screen: str, data: dict[str, object]) -> None:
        self.version += 1
        self.last = {"type": "view", "version": self.version, **data, "screen": screen}
        await self.broadcast(self.last)

    async def broadcast(self, message: dict[str, Any]) -> None:
        for ws in list(self.clients):
            try:
                await ws.send_json(message)
            except Exception:  # a page that went away
                self.clients.discard(ws)


class Kiosk:
    """Machine + runner + hub + pad: what one kiosk screen serves."""

    def __init__(
        self,
        make_machine: Callable[[], SessionMachine],
        executor: Executor,
        voice: VoicePort | None = None,
        spool_dir: Path | None = None,
        clock: Callable[[], datetime] | None = None,
        on_wipe: Callable[[SessionMachine], Coroutine[Any, Any, None]] | None = None,
    ) -> None:
        self.make_machine = make_machine
        self.on_wipe = on_wipe
        self.executor = executor
        self.voice = voice
        self.spool_dir = spool_dir
        self.clock = clock
        self.hub = ScreenHub()
        self.pad = PinPad()
        self.runner = self._new_runner()
        self._task: asyncio.Task[None] | None = None

    def _new_runner(self) -> SessionRunner:
        return SessionRunner(
            self.make_machine(),
            self.executor,
            self.hub,
            voice=self.voice,
            spool_dir=self.spool_dir,
            clock=self.clock,
            on_wipe=self.on_wipe,
        )

    async def start(self) -> None:
        self._task = asyncio.create_task(self.runner.run())
        # run() shows the first screen before it waits; let it get there.
        for _ in range(10):
            if self.hub.last:
                break
            await asyncio.sleep(0)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.runner.close()

    async def reset(self) -> None:
        await self.stop()
        self.pad.clear()
        self.runner = self._new_runner()
        await self.start()

    @property
    def state(self) -> State:
        return self.runner.machine.state

    async def touch(self, msg: object) -> None:
        if self.state not in (State.PIN, State.CLERK_PIN):
            self.pad.clear()
        event = parse(msg, self.pad, clerk_pin=self.state is State.CLERK_PIN)
        if event is None:
            await self.hub.broadcast({"type": "pad", "count": self.pad.count})
            return
        await self.runner.handle(event)
        await self.hub.broadcast({"type": "pad", "count": self.pad.count})


def origin_allowed(origin: str | None, server: tuple[str, int] | None) -> bool:
    """The page's origin is this server as its socket was reached: ``http://<ip>:<port>``
    (``localhost`` too when that address is loopback). A name is never trusted (DNS
    rebinding points an attacker's name at us); a missing Origin is not a browser page."""
    if not origin or server is None:
        return False
    host, port = server
    literal = f"[{host}]" if ":" in host else host
    allowed = {f"http://{literal}:{port}", f"https://{literal}:{port}"}
    if host in ("127.0.0.1", "::1"):
        allowed |= {f"http://localhost:{port}", f"https://localhost:{port}"}
    return origin.lower() in allowed


async def _hello(socket: WebSocket, token: str) -> bool:
    """The page's first message carries the screen token (compared in constant time)."""
    try:
        raw = await asyncio.wait_for(socket.receive_text(), HELLO_TIMEOUT_S)
        msg = json.loads(raw)
    except (TimeoutError, json.JSONDecodeError, WebSocketDisconnect, KeyError, RuntimeError):
        return False
    offered = msg.get("token") if isinstance(msg, dict) and msg.get("type") == "hello" else None
    if not isinstance(offered, str):
        return False
    return hmac.compare_digest(offered.encode(), token.encode())


HEARTBEAT_S = 0.5  # the page shows out of service after 3 missed beats (host/ui/static/app.js)


async def _heartbeat(socket: WebSocket) -> None:
    """A beat the page watches: a host that died or hangs stops beating, and the page covers
    itself with "out of service" instead of asking for money nobody will take."""
    with contextlib.suppress(Exception):
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            await socket.send_json({"type": "beat"})


def create_app(kiosk: Kiosk, token: str) -> FastAPI:
    """The screen's app; ``token``: what the kiosk's own page must say first (`screen_token`)."""
    if len(token) < screen_token.MIN_LENGTH:
        raise ValueError("the screen token is too short")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await kiosk.start()
        yield
        await kiosk.stop()

    app = FastAPI(title="kofu kiosk screen", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/")
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    @app.get("/i18n/{lang}.json")
    async def catalog(lang: str) -> JSONResponse:
        try:
            return JSONResponse(i18n.catalog(lang))
        except i18n.UnknownLanguage:
            raise HTTPException(404, "unknown language") from None

    @app.get("/i18n/languages")
    async def languages() -> list[dict[str, str]]:
        offered = kiosk.runner.machine.config.languages
        return [{"code": c, "name": i18n.load(c)["lang.self"]} for c in offered]

    @app.websocket("/ws")
    async def ws(socket: WebSocket) -> None:
        server = socket.scope.get("server")
        if not origin_allowed(socket.headers.get("origin"), server):
            log.warning("screen connection refused: foreign origin")
            await socket.close(CLOSE_FORBIDDEN_ORIGIN)
            return
        await socket.accept()
        if not await _hello(socket, token):
            log.warning("screen connection refused: no valid screen token")
            with contextlib.suppress(Exception):
                await socket.close(CLOSE_UNAUTHORISED)
            return
        await kiosk.hub.take(socket)
        beat = asyncio.create_task(_heartbeat(socket))
        try:
            if kiosk.hub.last:
                await socket.send_json(kiosk.hub.last)
            await socket.send_json({"type": "pad", "count": kiosk.pad.count})
            while True:
                raw = await socket.receive_text()
                if socket not in kiosk.hub.clients:
                    break  # replaced by a newer page: its touches are not the citizen's
                try:
                    await kiosk.touch(json.loads(raw))
                except (UiInputError, json.JSONDecodeError) as exc:
                    key = exc.key if isinstance(exc, UiInputError) else "error.bad_message"
                    log.info("screen message rejected: %s", key)
                    await socket.send_json({"type": "error", "key": key})
        except WebSocketDisconnect:
            pass
        finally:
            beat.cancel()
            kiosk.hub.clients.discard(socket)

    return app

