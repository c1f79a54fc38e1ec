"""The screen server without a browser: the WebSocket protocol and who may speak it (the
kiosk's own page: its Origin, the screen token, one page at a time), catalogs, and that the
kiosk's app serves no injection endpoint (only the simulation's wiring adds them)."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from host.session.demo import OPEN_TIME
from host.ui.server import (
    CLOSE_FORBIDDEN_ORIGIN,
    CLOSE_REPLACED,
    CLOSE_UNAUTHORISED,
    create_app,
    origin_allowed,
)
from sim.screen.dev_routes import add_dev_routes, sim_kiosk

TOKEN = secrets.token_urlsafe(32)
ORIGIN = {"origin": "http://testserver:80"}  # TestClient's server address


def client(sim: bool) -> TestClient:
    kiosk = sim_kiosk(lambda: OPEN_TIME)
    app = create_app(kiosk, TOKEN)
    if sim:
        add_dev_routes(app, kiosk)
    return TestClient(app)


def screen(c: TestClient, token: str = TOKEN, headers: dict[str, str] = ORIGIN) -> Any:
    ws = c.websocket_connect("/ws", headers=headers)
    return ws


def hello(ws: Any, token: str = TOKEN) -> Any:
    ws.send_json({"type": "hello", "token": token})
    return ws


def next_view(ws: Any) -> dict[str, Any]:
    while True:
        msg: dict[str, Any] = ws.receive_json()
        if msg["type"] == "view":
            return msg


def test_the_kiosk_app_serves_no_injection_endpoint() -> None:
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


def test_no_production_module_mounts_the_simulator() -> None:
    """The injection endpoints, the recording executor and the sim voice live in sim/; no
    module of the kiosk service names them (that none imports sim/ is an import contract,
    `lint-imports` in `make lint`)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "host"
    names = ("RecordingExecutor", "add_dev_routes", "RecordingVoice", "/dev/events")
    offenders = [
        str(p.relative_to(root.parent))
        for p in root.rglob("*.py")
        if any(word in p.read_text(encoding="utf-8") for word in names)
    ]
    assert offenders == []


def test_catalog_routes() -> None:
    with client(sim=False) as c:
        assert c.get("/i18n/ja.json").json()["btn.start"] == "行政サービス"
        assert c.get("/i18n/xx.json").status_code == 404
        langs = c.get("/i18n/languages").json()
        assert [x["code"] for x in langs] == ["ja", "en", "zh", "ko", "pt", "es", "vi"]


def test_websocket_views_pad_and_errors() -> None:
    with client(sim=True) as c, screen(c) as ws:
        hello(ws)
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


@pytest.mark.parametrize(
    "headers",
    [
        {},  # not a browser page
        {"origin": "http://evil.example"},
        {"origin": "http://evil.example:80"},  # a DNS-rebound name on our port
        {"origin": "http://testserver:8081"},
        {"origin": "null"},
    ],
)
def test_a_page_of_another_origin_gets_nothing(headers: dict[str, str]) -> None:
    with client(sim=False) as c:
        with pytest.raises(WebSocketDisconnect) as refused, screen(c, headers=headers) as ws:
            hello(ws).receive_json()
        assert refused.value.code == CLOSE_FORBIDDEN_ORIGIN


@pytest.mark.parametrize(
    "first",
    [
        {"type": "hello", "token": "x" * 43},
        {"type": "hello", "token": TOKEN[:-1]},
        {"type": "hello"},
        {"type": "hello", "token": 12345},
        {"event": "start"},  # a touch before the hello
        ["hello", TOKEN],
    ],
)
def test_without_the_screen_token_nothing_is_sent_and_nothing_touched(first: object) -> None:
    with client(sim=True) as c:
        with pytest.raises(WebSocketDisconnect) as refused, screen(c) as ws:
            ws.send_json(first)
            ws.receive_json()
        assert refused.value.code == CLOSE_UNAUTHORISED
        assert c.get("/dev/state").json()["dump"]["state"] == "idle"


def test_one_page_at_a_time_a_new_one_replaces_the_old() -> None:
    """A second page (with the token: a reloaded Chromium) takes the screen; the first gets
    no more views (and so no household names) and its touches are not taken."""
    with client(sim=True) as c, screen(c) as first:
        assert next_view(hello(first))["screen"] == "idle"
        with screen(c) as second:
            assert next_view(hello(second))["screen"] == "idle"
            with pytest.raises(WebSocketDisconnect) as closed:
                while True:
                    first.receive_json()
            assert closed.value.code == CLOSE_REPLACED
            second.send_json({"event": "start"})
            assert next_view(second)["screen"] == "language"
        assert c.get("/dev/state").json()["dump"]["state"] == "language"


def test_origin_rules() -> None:
    assert origin_allowed("http://127.0.0.1:8080", ("127.0.0.1", 8080))
    assert origin_allowed("http://localhost:8080", ("127.0.0.1", 8080))
    assert origin_allowed("http://[::1]:8080", ("::1", 8080))
    assert origin_allowed("http://192.0.2.7:8080", ("192.0.2.7", 8080))
    assert not origin_allowed("http://localhost:8080", ("192.0.2.7", 8080))
    assert not origin_allowed("http://kiosk.example:8080", ("192.0.2.7", 8080))
    assert not origin_allowed(None, ("127.0.0.1", 8080))
    assert not origin_allowed("http://127.0.0.1:8080", None)


def test_the_app_refuses_a_short_token() -> None:
    with pytest.raises(ValueError, match="too short"):
        create_app(sim_kiosk(lambda: OPEN_TIME), "short")


def test_language_list_follows_the_session_config() -> None:
    from host.session.machine import SessionConfig

    kiosk = sim_kiosk(lambda: OPEN_TIME, SessionConfig(languages=("ja", "en", "vi")))
    with TestClient(create_app(kiosk, TOKEN)) as c:
        assert [x["code"] for x in c.get("/i18n/languages").json()] == ["ja", "en", "vi"]
