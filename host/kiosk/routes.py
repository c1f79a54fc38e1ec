"""The kiosk service's own HTTP routes on the screen's app: ``GET /health`` for monitoring
(every device's ok, reason and since; ``ready``; HTTP 503 while out of service)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.responses import JSONResponse

if TYPE_CHECKING:
    from .service import KioskService


def add_service_routes(app: FastAPI, service: KioskService) -> None:
    @app.get("/health")
    async def health() -> JSONResponse:
        body = service.health_report()
        return JSONResponse(body, status_code=200 if body["ready"] else 503)
