"""Mount the sim control panel on the kiosk screen's app (simulation only)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse

from .actions import ACTIONS, PanelError, act

PAGE = Path(__file__).resolve().parent / "panel.html"


def add_panel(app: FastAPI, sim: Any, service: Any) -> None:
    @app.get("/sim/panel")
    async def panel() -> FileResponse:
        return FileResponse(PAGE, headers={"Cache-Control": "no-store"})

    @app.get("/sim/status")
    async def status() -> dict[str, Any]:
        kiosk = service.kiosk
        return {
            "state": kiosk.state.value if kiosk else None,
            "health": dict(service.health),
            "actions": list(ACTIONS),
            "cash": sim.cash.totals(),
            "card_placed": bool(sim.card.placed),
        }

    @app.post("/sim/act")
    async def do(request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            raise HTTPException(400, "body is not JSON") from None
        try:
            name = await asyncio.to_thread(act, sim, body)
        except PanelError as exc:
            raise HTTPException(422, str(exc)) from None
        return {"done": name}
