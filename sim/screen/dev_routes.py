"""The screen simulator's ``/dev/*`` routes: inject device and center events as JSON
(``POST /dev/events``), read the recorded device actions (``GET /dev/actions``), the state
(``GET /dev/state``), reset the session (``POST /dev/reset``) and the panel (``/dev/panel``).

Mounted only by the simulation's wiring (`python -m sim.screen`); the kiosk service has no
switch that serves them: an injected ``PaymentComplete`` would print without cash.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import fields, is_dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse

from host.session.machine import SessionConfig, SessionMachine
from host.ui.server import Kiosk

from .inject import InjectError, decode
from .recording import RecordingExecutor

DEV = Path(__file__).resolve().parent / "dev"


def action_summary(action: object) -> dict[str, Any]:
    """Recorded action for /dev/actions: its type and plain scalar fields (no PIN, no bytes)."""
    out: dict[str, Any] = {"type": type(action).__name__}
    if is_dataclass(action):
        for f in fields(action):
            value = getattr(action, f.name)
            if isinstance(value, (int, str, bool)) and f.repr:
                out[f.name] = value
    return out


def sim_kiosk(
    now: Callable[[], datetime], config: SessionConfig | None = None, ticking: bool = False
) -> Kiosk:
    """A kiosk whose devices are simulated by injection: device actions are only recorded."""
    return Kiosk(
        lambda: SessionMachine(now(), config),
        RecordingExecutor(),
        clock=now if ticking else None,
    )


def add_dev_routes(app: FastAPI, kiosk: Kiosk) -> None:
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
        if isinstance(kiosk.executor, RecordingExecutor):
            kiosk.executor.actions.clear()
        return {"state": kiosk.state.value}
