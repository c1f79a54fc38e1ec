"""The kiosk screen as a web app: static HTML/CSS/JS, live state over a WebSocket.

The page is dumb: it renders the view the session machine announces (``Show`` actions) with
texts from the message catalogs, and sends the citizen's touches back. In simulation mode
(and only then) ``/dev/*`` endpoints let a test or the sim control panel inject device and
center events, read the recorded device actions and reset the session.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import fields, is_dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from host import i18n
from host.session.machine import SessionConfig, SessionMachine
from host.session.ports import VoicePort
from host.session.runner import Executor, RecordingExecutor, SessionRunner
from host.session.states import State

from .inject import InjectError, decode
from .touch import PinPad, UiInputError, parse

STATIC = Path(__file__).resolve().parent / "static"
DEV = Path(__file__).resolve().parent / "dev"  # simulation panel, served only in sim mode
log = logging.getLogger("kofu.ui")


class ScreenHub:
    """The session's ScreenPort: keeps the last view and pushes each new one to every page."""

    def __init__(self) -> None:
        self.clients: set[WebSocket] = set()
        self.last: dict[str, Any] = {}
        self.version = 0

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
        if isinstance(self.executor, RecordingExecutor):
            self.executor.actions.clear()
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


def action_summary(action: object) -> dict[str, Any]:
    """Recorded action for /dev/actions: its type and plain scalar fields (no PIN, no bytes)."""
    out: dict[str, Any] = {"type": type(action).__name__}
    if is_dataclass(action):
        for f in fields(action):
            value = getattr(action, f.name)
            if isinstance(value, (int, str, bool)) and f.repr:
                out[f.name] = value
    return out


def create_app(kiosk: Kiosk, sim: bool = False) -> FastAPI:
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
        await socket.accept()
        kiosk.hub.clients.add(socket)
        try:
            if kiosk.hub.last:
                await socket.send_json(kiosk.hub.last)
            await socket.send_json({"type": "pad", "count": kiosk.pad.count})
            while True:
                raw = await socket.receive_text()
                try:
                    await kiosk.touch(json.loads(raw))
                except (UiInputError, json.JSONDecodeError) as exc:
                    key = exc.key if isinstance(exc, UiInputError) else "error.bad_message"
                    log.info("screen message rejected: %s", key)
                    await socket.send_json({"type": "error", "key": key})
        except WebSocketDisconnect:
            pass
        finally:
            kiosk.hub.clients.discard(socket)

    if sim:
        _add_dev_routes(app, kiosk)
    return app


def _add_dev_routes(app: FastAPI, kiosk: Kiosk) -> None:
    @app.get("/dev/panel")
    async def panel() -> FileResponse:
        return FileResponse(DEV / "panel.html", headers={"Cache-Control": "no-store"})

    @app.post("/dev/events")
    async def inject(request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            raise HTTPException(400, "body is not JSON") from None
        try:
            event = decode(body, kiosk.runner.machine)
        except (InjectError, ValueError) as exc:
            raise HTTPException(422, str(exc)) from None
        await kiosk.runner.handle(event)
        await kiosk.runner.settle()  # so /dev/actions already lists what this event caused
        return {"state": kiosk.state.value}

    @app.get("/dev/state")
    async def state() -> dict[str, Any]:
        return {"dump": kiosk.runner.machine.dump(), "view": kiosk.hub.last}

    @app.get("/dev/actions")
    async def actions() -> list[dict[str, Any]]:
        ex = kiosk.executor
        recorded = ex.actions if isinstance(ex, RecordingExecutor) else []
        return [action_summary(a) for a in recorded]

    @app.post("/dev/reset")
    async def reset() -> dict[str, Any]:
        await kiosk.reset()
        return {"state": kiosk.state.value}


def sim_kiosk(
    now: Callable[[], datetime], config: SessionConfig | None = None, ticking: bool = False
) -> Kiosk:
    """A kiosk whose devices are simulated by injection: device actions are only recorded."""
    return Kiosk(
        lambda: SessionMachine(now(), config),
        RecordingExecutor(),
        clock=now if ticking else None,
    )
