"""M3: the center fails closed on a stale CRL and refuses an older CRL put back. Low: a card
certificate must be an authentication end entity; every refusal, however odd the input, is
the same JSON envelope; reasons are codes only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa

from center.clock import Clock
from center.jpki import crl_number
from center.pki import DemoJpki, issue, load_pair
from center.simkiosk import Card, KioskSession, Refused, client

from ..conftest import Live


@pytest.fixture
def kiosk(live: Live) -> Iterator[KioskSession]:
    with client(live.url, live.state) as http:
        yield KioskSession(http)


def revoked_serials(jpki: DemoJpki) -> list[int]:
    crl = x509.load_pem_x509_crl(jpki.crl.read_bytes())
    return [r.serial_number for r in crl]


def login_error(live: Live, kiosk: KioskSession, label: str = "sato") -> str:
    try:
        kiosk.login(Card.demo(live.state, label))
    except Refused as exc:
        return f"{exc.status} {exc.error}"
    return "ok"


def test_an_older_crl_put_back_is_refused(live: Live, kiosk: KioskSession) -> None:
    jpki = DemoJpki(live.state)
    serials = revoked_serials(jpki)
    assert login_error(live, kiosk) == "ok"
    older = jpki.crl.read_bytes()
    jpki.write_crl(serials)  # a newer CRL is published and used
    assert login_error(live, kiosk) == "ok"
    try:
        jpki.crl.write_bytes(older)  # the older one put back: it would un-revoke cards
        assert login_error(live, kiosk) == "503 crl_rollback"
    finally:
        jpki.write_crl(serials)
    assert login_error(live, kiosk) == "ok"
    assert login_error(live, kiosk, "revoked") == "403 card_revoked"


def test_a_stale_crl_fails_closed(live: Live, kiosk: KioskSession) -> None:
    jpki = DemoJpki(live.state)
    serials = revoked_serials(jpki)
    ca_key, ca = load_pair(jpki.ca)
    now = Clock.of_state(live.state).now()  # the center's clock, not this machine's
    number = (crl_number(x509.load_pem_x509_crl(jpki.crl.read_bytes())) or 0) + 1
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.subject)
        .last_update(now - timedelta(days=31))
        .next_update(now - timedelta(days=30))  # 30 days past its nextUpdate
        .add_extension(x509.CRLNumber(number), critical=False)
    )
    from cryptography.hazmat.primitives import serialization

    stale = builder.sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    try:
        jpki.crl.write_bytes(stale.public_bytes(serialization.Encoding.PEM))
        assert login_error(live, kiosk) == "503 crl_stale"
    finally:
        jpki.write_crl(serials)
    assert login_error(live, kiosk) == "ok"


def test_a_ca_certificate_is_not_a_card(live: Live, kiosk: KioskSession) -> None:
    jpki = DemoJpki(live.state)
    ca_key, ca = load_pair(jpki.ca)
    assert isinstance(ca_key, rsa.RSAPrivateKey)
    from cryptography.hazmat.primitives import serialization

    as_card = Card(ca.public_bytes(serialization.Encoding.PEM).decode(), ca_key)
    with pytest.raises(Refused) as exc:
        kiosk.login(as_card)
    assert exc.value.error == "card_untrusted"


def test_a_certificate_without_authentication_usage_is_not_a_card(
    live: Live, kiosk: KioskSession
) -> None:
    jpki = DemoJpki(live.state)
    ca_key, ca = load_pair(jpki.ca)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _, cert = issue(ca_key, ca, "NO-USAGE", key=key, client=True, org="JPKI")  # no keyUsage
    from cryptography.hazmat.primitives import serialization

    with pytest.raises(Refused) as exc:
        kiosk.login(Card(cert.public_bytes(serialization.Encoding.PEM).decode(), key))
    assert exc.value.error == "card_untrusted"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/certificates/000000-20260101-00000000000%00/print-result", {"ok": True}),
        ("/v1/certificates/%00/reprint", {"clerk_token": "x" * 30}),
        ("/v1/session/orders/%00abc/payment", {"idempotency_key": "k" * 10, "amount": 1}),
    ],
)
def test_nul_in_a_path_id_is_a_refusal(kiosk: KioskSession, path: str, body: object) -> None:
    resp = kiosk.http.post(path, json=body, headers=kiosk.auth if kiosk.token else {})
    assert resp.status_code in (401, 422) and resp.json()["error"] in (
        "bad_request",
        "session_invalid",
    )


@pytest.mark.parametrize(
    "body",
    [
        b'{"lines": [{"type": "juminhyo\xff\xfe"}]}',  # not UTF-8
        b'{"lines": ' + b"[" * 5000 + b"]" * 5000 + b"}",  # nested past the parser's depth
        b"\x00\x00\x00",
    ],
)
def test_odd_bodies_get_the_same_envelope(kiosk: KioskSession, body: bytes) -> None:
    resp = kiosk.http.post(
        "/v1/authenticate" if body.startswith(b"\x00") else "/v1/session/orders",
        content=body,
        headers={"content-type": "application/json", "authorization": "Bearer x"},
    )
    assert resp.status_code in (400, 401, 422)
    assert set(resp.json()) == {"error", "message_ja", "message_en"}


def test_unknown_paths_get_the_same_envelope(kiosk: KioskSession) -> None:
    resp = kiosk.http.get("/v1/nothing-here")
    assert resp.status_code == 404 and resp.json()["error"] == "not_found"
    resp = kiosk.http.put("/v1/challenge")
    assert resp.status_code == 405 and set(resp.json()) == {"error", "message_ja", "message_en"}


def test_reasons_are_codes_only(live: Live, kiosk: KioskSession) -> None:
    kiosk.login(Card.demo(live.state, "sato"))
    quote = kiosk.order([{"type": "juminhyo"}])
    number = kiosk.pay(quote)["certificates"][0]["certificate_number"]
    with pytest.raises(Refused) as exc:
        kiosk.print_result(number, False, "paper jam near 佐藤's receipt")
    assert exc.value.error == "bad_request"
    assert kiosk.print_result(number, False, "media-jam-error")["print_status"] == "failed"
    health = {"ready": False, "devices": {"printer": {"ok": False, "reason": "jam at tray 2"}}}
    resp = kiosk.http.post("/v1/kiosk/health", json=health)
    assert resp.status_code == 422
    health["devices"]["printer"]["reason"] = "media-jam"  # type: ignore[index]
    assert kiosk.http.post("/v1/kiosk/health", json=health).status_code == 204


def test_a_body_over_the_limit_is_refused_and_audited(live: Live, kiosk: KioskSession) -> None:
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from center import models

    def lines() -> int:
        with Session(live.engine) as db:
            return int(
                db.scalar(
                    select(func.count()).where(
                        models.AuditEntry.action == "refusal",
                        models.AuditEntry.detail.contains("reason=body_too_large"),
                        models.AuditEntry.kiosk_id.is_not(None),
                    )
                )
                or 0
            )

    before = lines()
    resp = kiosk.http.post("/v1/session/orders", content=b"{" + b" " * (70 * 1024) + b"}",
                           headers={"content-type": "application/json"})  # fmt: skip
    assert resp.status_code == 413 and resp.json()["error"] == "body_too_large"
    assert lines() == before + 1
