"""The screen server without a browser: the WebSocket protocol, catalogs, and that the
injection endpoints exist only in simulation mode."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from host.session.demo import OPEN_TIME
from host.ui.server import create_app, sim_kiosk


def client(sim: bool) -> TestClient:
    return TestClient(create_app(sim_kiosk(lambda: OPEN_TIME), sim=sim))


def next_view(ws: Any) -> dict[str, Any]:
    while True:
        msg: dict[str, Any] = ws.receive_json()
        if msg["type"] == "view":
            return msg


def test_injection_endpoints_exist_only_in_simulation() -> None:
    with client(sim=False) as c:
        assert c.get("/").status_code == 200
        for method, path in (
            ("POST", "/dev/events"),
            ("GET", "/dev/state"),
            ("GET", "/dev/actions"),
            ("POST", "/dev/reset"),
            ("GET", "/dev/panel"),
        ):
            assert c.request(method, path, json={"type": "CardInserted"}).status_code in (
                404,
                405,
            ), path
    with client(sim=True) as c:
        assert c.get("/dev/panel").status_code == 200
        assert c.post(
            "/dev/events", json={"type": "Tick", "now": "2026-11-24T05:00:00+09:00"}
        ).json() == {"state": "closed"}
        assert c.post("/dev/events", content=b"{").status_code == 400


def test_catalog_routes() -> None:
    with client(sim=False) as c:
        assert c.get("/i18n/ja.json").json()["btn.start"] == "行政サービス"
        assert c.get("/i18n/xx.json").status_code == 404
        langs = c.get("/i18n/languages").json()
        assert [x["code"] for x in langs] == ["ja", "en", "zh", "ko", "pt", "es", "vi"]


def test_websocket_views_pad_and_errors() -> None:
    with client(sim=True) as c, c.websocket_connect("/ws") as ws:
        assert next_view(ws)["screen"] == "idle"
        ws.send_json({"event": "start"})
        assert next_view(ws)["screen"] == "language"
        ws.send_json({"event": "language", "lang": "en"})
        view = next_view(ws)
        assert view["screen"] == "card" and view["lang"] == "en"
        c.post("/dev/events", json={"type": "CardInserted", "tries_left": 3})
        assert next_view(ws)["tries_left"] == 3
        for d in "246":
            ws.send_json({"event": "pin_digit", "digit": d})
            msg = ws.receive_json()
            while msg["type"] != "pad":
                msg = ws.receive_json()
            assert "digit" not in msg and set(msg) == {"type", "count"}
        assert msg["count"] == 3
        ws.send_json({"event": "pin_submit"})  # only 3 digits
        msg = ws.receive_json()
        assert msg == {"type": "error", "key": "error.pin_incomplete"}
        ws.send_text("not json")
        assert ws.receive_json() == {"type": "error", "key": "error.bad_message"}
        assert c.get("/dev/state").json()["dump"]["state"] == "pin"  # nothing lost
        actions = [a["type"] for a in c.get("/dev/actions").json()]
        assert "VerifyPin" not in actions


def test_language_list_follows_the_session_config() -> None:
    from host.session.machine import SessionConfig

    kiosk = sim_kiosk(lambda: OPEN_TIME, SessionConfig(languages=("ja", "en", "vi")))
    with TestClient(create_app(kiosk)) as c:
        assert [x["code"] for x in c.get("/i18n/languages").json()] == ["ja", "en", "vi"]
