"""The kiosk service's own HTTP routes on the screen's app: ``GET /health`` for monitoring
(every device's ok, reason and since; ``ready``; HTTP 503 while out of service) and, with the
sim voice backend only, ``GET /sim/voice`` (the prompts played so far)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from .voice_port import RecordingVoice

if TYPE_CHECKING:
    from .service import KioskService


def add_service_routes(app: FastAPI, service: KioskService) -> None:
    @app.get("/health")
    async def health() -> JSONResponse:
        body = service.health_report()
        return JSONResponse(body, status_code=200 if body["ready"] else 503)

    if isinstance(service.voice, RecordingVoice):
        voice = service.voice

        @app.get("/sim/voice")
        async def played() -> list[dict[str, Any]]:
            return list(voice.played)
