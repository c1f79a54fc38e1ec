"""Bad input gets a typed refusal and changes nothing; the OpenAPI description holds."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from center.simkiosk import Card, KioskSession, client

from .conftest import Live


@pytest.fixture
def kiosk(live: Live) -> Iterator[KioskSession]:
    with client(live.url, live.state) as http:
        yield KioskSession(http)


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"[]",
        b'{"challenge_id": 1}',
        b'{"challenge_id": "x", "card_certificate": "y", "signature": "z", "extra": 1}',
        '{"challenge_id": "\u00ff", "card_certificate": "", "signature": ""}'.encode(),
        b"\xff\xfe\x00garbage",
    ],
)
def test_malformed_authenticate(kiosk: KioskSession, body: bytes) -> None:
    resp = kiosk.http.post(
        "/v1/authenticate", content=body, headers={"content-type": "application/json"}
    )
    assert resp.status_code in (400, 403, 422)
    assert resp.json()["error"] in ("bad_request", "card_malformed", "challenge_unknown")


def test_garbage_certificate_and_signature(live: Live, kiosk: KioskSession) -> None:
    ch = kiosk.http.post("/v1/challenge").json()
    resp = kiosk.http.post(
        "/v1/authenticate",
        json={"challenge_id": ch["challenge_id"], "card_certificate": "QUJD", "signature": "QQ=="},
    )
    assert resp.status_code == 403 and resp.json()["error"] == "card_malformed"
    c = Card.demo(live.state, "sato")
    ch = kiosk.http.post("/v1/challenge").json()
    resp = kiosk.http.post(
        "/v1/authenticate",
        json={"challenge_id": ch["challenge_id"], "card_certificate": c.cert_pem,
              "signature": "not base64!!"},
    )  # fmt: skip
    assert resp.status_code == 422 and resp.json()["error"] == "bad_request"


def test_oversized_body_refused(kiosk: KioskSession) -> None:
    big = b'{"lines": [' + b" " * (70 * 1024) + b"]}"
    resp = kiosk.http.post("/v1/session/orders", content=big,
                           headers={"content-type": "application/json"})  # fmt: skip
    assert resp.status_code == 413 and resp.json()["error"] == "body_too_large"

    def chunks() -> Iterator[bytes]:  # no content-length: counted while streaming
        for _ in range(80):
            yield b" " * 1024

    resp = kiosk.http.post("/v1/session/orders", content=chunks(),
                           headers={"content-type": "application/json"})  # fmt: skip
    assert resp.status_code == 413


def test_bad_orders_change_nothing(live: Live, kiosk: KioskSession) -> None:
    kiosk.login(Card.demo(live.state, "taro"))
    for lines in (
        [],
        [{"type": "juminhyo", "copies": 0}],
        [{"type": "juminhyo", "copies": 11}],
        [{"type": "nonsense"}],
        [{"type": "shotoku", "fiscal_year": 1999}],
        [{"type": "juminhyo", "options": ["no-such-option"]}],
    ):
        resp = kiosk.http.post("/v1/session/orders", json={"lines": lines}, headers=kiosk.auth)
        assert resp.status_code == 422, lines
        assert "detail" not in resp.json()  # the validator's echo of the input stays inside
    quote = kiosk.order([{"type": "juminhyo"}])
    assert quote["total"] == 200


def test_validation_errors_do_not_echo_input(kiosk: KioskSession) -> None:
    secret = "123456789012"
    resp = kiosk.http.post("/v1/authenticate", json={"challenge_id": secret})
    assert secret not in resp.text


def test_no_bearer_no_session(kiosk: KioskSession) -> None:
    assert kiosk.http.get("/v1/session/menu").status_code == 401
    resp = kiosk.http.get("/v1/session/menu", headers={"Authorization": "Bearer forged"})
    assert resp.status_code == 401 and resp.json()["error"] == "session_invalid"


def test_openapi_describes_the_flow(kiosk: KioskSession) -> None:
    spec = kiosk.http.get("/openapi.json").json()
    for path in ("/v1/challenge", "/v1/authenticate", "/v1/session/menu",
                 "/v1/session/orders", "/v1/session/orders/{order_id}/payment",
                 "/v1/certificates/{number}/print-result", "/v1/certificates/{number}/reprint",
                 "/v1/public-keys"):  # fmt: skip
        assert path in spec["paths"], path


def test_public_key_and_seal(kiosk: KioskSession) -> None:
    keys = kiosk.http.get("/v1/public-keys").json()
    assert set(keys) >= {"999001", "999002"}
    assert all(len(base64.b64decode(v)) == 32 for v in keys.values())
    resp = kiosk.http.get("/v1/municipalities/999001/seal.png")
    assert resp.headers["content-type"] == "image/png" and resp.content[:4] == b"\x89PNG"
    assert kiosk.http.get("/v1/municipalities/000000/seal.png").status_code == 404
