"""A simulated kiosk for tests and the benchmark: mutual-TLS client plus a card that signs.

Stands in for the host's center client and the virtual card; it signs the challenge as the
card does (PKCS#1 v1.5 over DigestInfo(SHA-256(challenge)), which is what
``RSAPrivateKey.sign(challenge, PKCS1v15(), SHA256())`` produces).
"""

from __future__ import annotations

import base64
import socket
import ssl
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from center.pki import CenterPki, DemoJpki


@dataclass(frozen=True)
class Card:
    cert_pem: str
    key: rsa.RSAPrivateKey

    @classmethod
    def load(cls, stem: Path) -> Card:
        key = serialization.load_pem_private_key(stem.with_suffix(".key").read_bytes(), None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return cls(stem.with_suffix(".pem").read_text(), key)

    @classmethod
    def demo(cls, state: Path, label: str) -> Card:
        return cls.load(DemoJpki(state).card(label))

    def sign(self, challenge: bytes) -> bytes:
        return self.key.sign(challenge, padding.PKCS1v15(), hashes.SHA256())


def tls_context(state: Path, kiosk: str | None = "demo-kiosk") -> ssl.SSLContext:
    pki = CenterPki(state)
    ctx = ssl.create_default_context(cafile=str(pki.server_ca.with_suffix(".pem")))
    if kiosk is not None:
        stem = pki.kiosk(kiosk)
        ctx.load_cert_chain(str(stem.with_suffix(".pem")), str(stem.with_suffix(".key")))
    return ctx


def client(url: str, state: Path, kiosk: str | None = "demo-kiosk", **kw: Any) -> httpx.Client:
    # TCP_NODELAY: a request's headers and body leave in separate writes; with Nagle's
    # algorithm the second waits for the server's delayed ACK (~40 ms per request).
    transport = httpx.HTTPTransport(
        verify=tls_context(state, kiosk),
        socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
    )
    return httpx.Client(base_url=url, transport=transport, timeout=30, **kw)


class Refused(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"{status} {body.get('error')}")
        self.status = status
        self.error = str(body.get("error"))
        self.body = body


def _ok(resp: httpx.Response) -> Any:
    if resp.status_code >= 400:
        try:
            body = resp.json()
        except ValueError:
            body = {"error": resp.text[:100]}
        raise Refused(resp.status_code, body)
    return resp.json() if resp.content else None


@dataclass
class KioskSession:
    http: httpx.Client
    token: str = ""

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def login(self, card: Card) -> None:
        ch = _ok(self.http.post("/v1/challenge"))
        sig = card.sign(base64.b64decode(ch["challenge"]))
        body = {
            "challenge_id": ch["challenge_id"],
            "card_certificate": card.cert_pem,
            "signature": base64.b64encode(sig).decode(),
        }
        self.token = _ok(self.http.post("/v1/authenticate", json=body))["session_token"]

    def menu(self) -> dict[str, Any]:
        result: dict[str, Any] = _ok(self.http.get("/v1/session/menu", headers=self.auth))
        return result

    def order(self, lines: list[dict[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = _ok(
            self.http.post("/v1/session/orders", json={"lines": lines}, headers=self.auth)
        )
        return result

    def pay(self, quote: dict[str, Any], key: str | None = None) -> dict[str, Any]:
        body = {"idempotency_key": key or uuid.uuid4().hex, "amount": quote["total"]}
        result: dict[str, Any] = _ok(
            self.http.post(
                f"/v1/session/orders/{quote['order_id']}/payment", json=body, headers=self.auth
            )
        )
        return result

    def print_result(self, number: str, ok: bool, error: str = "") -> dict[str, Any]:
        result: dict[str, Any] = _ok(
            self.http.post(
                f"/v1/certificates/{number}/print-result", json={"ok": ok, "error": error}
            )
        )
        return result

    def recover(self, order_id: str, key: str) -> dict[str, Any]:
        """What became of an order (a restarted kiosk's question; no session token)."""
        result: dict[str, Any] = _ok(
            self.http.post(f"/v1/orders/{order_id}/recovery", json={"idempotency_key": key})
        )
        return result

    def clerk_signin(self, clerk_id: str, pin: str) -> str:
        body = _ok(self.http.post("/v1/clerk/session", json={"clerk_id": clerk_id, "pin": pin}))
        return str(body["clerk_token"])

    def reprint(self, number: str, clerk_token: str) -> dict[str, Any]:
        result: dict[str, Any] = _ok(
            self.http.post(
                f"/v1/certificates/{number}/reprint", json={"clerk_token": clerk_token}
            )
        )
        return result

    def logout(self) -> None:
        _ok(self.http.delete("/v1/session", headers=self.auth))


def issue_juminhyo(session: KioskSession, card: Card) -> dict[str, Any]:
    """One whole citizen flow: card, menu, order a 住民票 for self, pay, print OK, leave."""
    session.login(card)
    menu = session.menu()
    me = menu["juminhyo"]["members"][0]
    quote = session.order(
        [{"type": "juminhyo", "member_ids": [me["member_id"]], "options": ["household"]}]
    )
    issued = session.pay(quote)
    for cert in issued["certificates"]:
        session.print_result(cert["certificate_number"], True)
    session.logout()
    return issued
