"""Mount the sim control panel on the kiosk screen's app (simulation only)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse

from sim.voice import RecordingVoice

from .actions import ACTIONS, PanelError, act
from .observe import observe, trust_store

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

    @app.get("/sim/outputs")
    async def outputs() -> dict[str, Any]:
        """What the simulated devices did, for tests and the curious: the coprocessor's pins
        (buzzer, LEDs), the hoppers, the cash journal's report, the printed files."""
        return await asyncio.to_thread(observe, sim, service)

    @app.get("/sim/trust")
    async def trust() -> dict[str, Any]:
        """The center's signing keys as a trust store for `kofu verify --trust`."""
        return await asyncio.to_thread(trust_store, sim)

    @app.get("/sim/voice")
    async def played() -> list[dict[str, Any]]:
        """What the kiosk said so far (prompt names, in order)."""
        voice = service.voice
        return list(voice.played) if isinstance(voice, RecordingVoice) else []

    @app.post("/sim/act")
    async def do(request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            raise HTTPException(400, "body is not JSON") from None
        try:
            return await asyncio.to_thread(act, sim, body)
        except PanelError as exc:
            raise HTTPException(422, str(exc)) from None
