"""M6 (issue 13): kiosks enroll by CSR (the center never holds a kiosk's key), are suspended,
resumed and revoked by `kofu center admin kiosk ...` with effect on their next request; the
retention sweep blanks certificate content once the window has passed (shifted Clock)."""

from __future__ import annotations

import base64
import json
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import Engine, select

from center import audit, demo, models, retention, softhsm
from center.atrest import attach
from center.clock import Clock
from center.db import make_engine, session_factory
from center.keystore import KeyStore
from center.launch import RunningCenter
from center.pki import CenterPki
from center.simkiosk import Card, KioskSession, client

ROOT = Path(__file__).resolve().parents[3]
CODE = "store-0042"


def kofu(*args: str) -> tuple[int, str]:
    """`kofu ...` in a process of its own, as an operator (or the kiosk) runs it."""
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from host.cli import main; sys.exit(main())", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return done.returncode, done.stdout + done.stderr


@dataclass
class Own:
    url: str
    state: Path
    engine: Engine
    kiosk_dir: Path  # the enrolled kiosk's own files (not the center's)

    def admin(self, *args: str) -> tuple[int, str]:
        return kofu("center", "admin", "--state", str(self.state), *args)

    def kiosk_client(self) -> httpx.Client:
        ctx = ssl.create_default_context(
            cafile=str(CenterPki(self.state).server_ca.with_suffix(".pem"))
        )
        ctx.load_cert_chain(str(self.kiosk_dir / "client.pem"), str(self.kiosk_dir / "client.key"))
        return httpx.Client(base_url=self.url, verify=ctx, timeout=30)


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Own]:
    """A center of its own (SQLite, 2 workers): its kiosks get suspended and revoked here."""
    state = tmp_path_factory.mktemp("lifecycle-state")
    kiosk_dir = tmp_path_factory.mktemp("kiosk-side")
    clock = demo.service_morning()
    with RunningCenter(state, "--clock", clock.isoformat(), workers=2) as run:
        # the running center's token (center/softhsm.py): sealed columns open through it
        engine = attach(make_engine(f"sqlite:///{state / 'center.db'}"),
                        KeyStore(softhsm.settings(state)))  # fmt: skip
        try:
            yield Own(run.url, state, engine, kiosk_dir)
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def enrolled(own: Own) -> Own:
    k = own.kiosk_dir
    rc, out = kofu("kiosk", "enroll", "--code", CODE, "--key", str(k / "client.key"),
                   "--csr", str(k / "client.csr"))  # fmt: skip
    assert rc == 0, out
    assert (k / "client.key").stat().st_mode & 0o777 == 0o600
    rc, out = own.admin("kiosk", "enroll", "--csr", str(k / "client.csr"), "--code", CODE,
                        "--location", "test", "--out", str(k / "client.pem"))  # fmt: skip
    assert rc == 0, out
    return own


def _status(own: Own) -> dict[str, str]:
    rc, out = own.admin("kiosk", "list")
    assert rc == 0, out
    return {row["kiosk"]: row["status"] for row in map(json.loads, out.splitlines())}


def test_csr_enrollment_end_to_end(enrolled: Own) -> None:
    own = enrolled
    with own.kiosk_client() as http:
        assert http.get("/v1/health").status_code == 200
    assert _status(own)[CODE] == "active"
    cert = x509.load_pem_x509_certificate((own.kiosk_dir / "client.pem").read_bytes())
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == CODE
    # nothing of the kiosk's private key anywhere in the center's state (files and database)
    key = serialization.load_pem_private_key((own.kiosk_dir / "client.key").read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    secret = key.private_numbers().private_value.to_bytes(32, "big")
    pem_line = (own.kiosk_dir / "client.key").read_bytes().splitlines()[2]  # no common prefix
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())  # fmt: skip
    files = [p for p in own.state.rglob("*") if p.is_file()]
    assert any(p.name == "center.db" for p in files)
    for path in files:
        data = path.read_bytes()
        for needle in (secret, pem_line, der):
            assert needle not in data, path.name
    with session_factory(own.engine)() as db:
        kid = db.scalar(select(models.Kiosk.id).where(models.Kiosk.code == CODE))
        A = models.AuditEntry
        line = db.scalar(select(A).where(A.action == "kiosk_enroll", A.kiosk_id == kid))
        assert line is not None


def _csr(key: Any, cn: str) -> bytes:
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM)


def test_bad_requests_are_refused_and_register_nothing(own: Own, tmp_path: Path) -> None:
    p256 = ec.generate_private_key(ec.SECP256R1())
    good = _csr(p256, "store-0099")
    der = bytearray(x509.load_pem_x509_csr(good).public_bytes(serialization.Encoding.DER))
    der[-3] ^= 0xFF  # inside the signature
    tampered = (b"-----BEGIN CERTIFICATE REQUEST-----\n" + base64.encodebytes(bytes(der))
                + b"-----END CERTIFICATE REQUEST-----\n")  # fmt: skip
    cases = {
        "wrong-cn": (_csr(p256, "store-0098"), "common name"),
        "small-rsa": (_csr(rsa.generate_private_key(65537, 1024), "store-0099"), "RSA"),
        "other-curve": (_csr(ec.generate_private_key(ec.SECP256K1()), "store-0099"), "P-256"),
        "tampered": (tampered, "signature"),
        "garbage": (b"hello", "PEM"),
    }
    for name, (pem, why) in cases.items():
        path = tmp_path / f"{name}.csr"
        path.write_bytes(pem)
        rc, out = own.admin("kiosk", "enroll", "--csr", str(path), "--code", "store-0099")
        assert rc == 1 and why in out and "Traceback" not in out, (name, out)
    rc, out = own.admin("kiosk", "enroll", "--csr", str(tmp_path / "missing.csr"),
                        "--code", "store-0099")  # fmt: skip
    assert rc == 1 and "Traceback" not in out
    assert "store-0099" not in _status(own)


def test_suspend_resume_revoke_against_the_running_center(enrolled: Own) -> None:
    own = enrolled
    with own.kiosk_client() as http:
        assert http.get("/v1/health").status_code == 200
        assert own.admin("kiosk", "suspend", CODE)[0] == 0
        resp = http.post("/v1/challenge")  # the next request, same TLS connection
        assert resp.status_code == 403 and resp.json()["error"] == "kiosk_suspended"
        assert own.admin("kiosk", "resume", CODE)[0] == 0
        assert http.post("/v1/challenge").status_code == 200
        assert own.admin("kiosk", "revoke", CODE)[0] == 0
        resp = http.get("/v1/health")
        assert resp.status_code == 403 and resp.json()["error"] == "kiosk_revoked"
        rc, out = own.admin("kiosk", "resume", CODE)
        assert rc == 1 and "cannot be resumed" in out
        assert http.get("/v1/health").status_code == 403
    # a revoked code is not enrolled again, even with a fresh key
    fresh = own.kiosk_dir / "again.csr"
    fresh.write_bytes(_csr(ec.generate_private_key(ec.SECP256R1()), CODE))
    rc, out = own.admin("kiosk", "enroll", "--csr", str(fresh), "--code", CODE)
    assert rc == 1 and "revoked" in out
    assert _status(own)[CODE] == "revoked"
    assert own.admin("kiosk", "suspend", "no-such-kiosk")[0] == 1
    with session_factory(own.engine)() as db:
        kid = db.scalar(select(models.Kiosk.id).where(models.Kiosk.code == CODE))
        lines = [(e.action, e.detail) for e in db.scalars(
            select(models.AuditEntry).where(models.AuditEntry.kiosk_id == kid)
            .order_by(models.AuditEntry.seq))]  # fmt: skip
        assert audit.verify(db).ok
    actions = [a for a, _ in lines]
    assert actions.index("kiosk_suspend") < actions.index("kiosk_resume")
    assert actions.index("kiosk_resume") < actions.index("kiosk_revoke")
    assert ("refusal", "reason=kiosk_suspended") in lines
    assert ("refusal", "reason=kiosk_revoked") in lines
    assert all("actor=admin" in d for a, d in lines if a.startswith("kiosk_"))


def test_demo_kiosks_come_through_the_csr_path(own: Own) -> None:
    """The demo's kiosks: a key of their own in kiosks/, a certificate the CA signed from a
    request (subject and extensions the center's), registered and served."""
    with client(own.url, own.state, "demo-kiosk-2") as http:
        assert http.get("/v1/health").status_code == 200
    cert = x509.load_pem_x509_certificate(
        CenterPki(own.state).kiosk("demo-kiosk-2").with_suffix(".pem").read_bytes()
    )
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]


# --- retention ------------------------------------------------------------------------------


def _paid_unprinted(own: Own, label: str) -> list[str]:
    with client(own.url, own.state) as http:
        k = KioskSession(http)
        k.login(Card.demo(own.state, label))
        me = k.menu()["juminhyo"]["members"][0]
        quote = k.order([{"type": "juminhyo", "member_ids": [me["member_id"]],
                          "options": ["household"], "copies": 2}])  # fmt: skip
        issued = k.pay(quote)
        numbers = [c["certificate_number"] for c in issued["certificates"]]
        k.print_result(numbers[1], False, "")  # one copy failed, the other never confirmed
        k.logout()
    return numbers


def _certs(own: Own, numbers: list[str]) -> list[models.Certificate]:
    with session_factory(own.engine)() as db:
        return [c for n in numbers if (c := db.get(models.Certificate, n)) is not None]


def test_retention_sweep_purges_after_the_window(own: Own) -> None:
    numbers = _paid_unprinted(own, "taro")
    before = _certs(own, numbers)
    assert all(c.document_json and c.purged_at is None for c in before)
    digests = {c.number: c.content_sha256 for c in before}
    center_clock = Clock.of_state(own.state)
    sessions = session_factory(own.engine)
    window = 3600

    within = Clock.starting_at(center_clock.now() + timedelta(minutes=50))
    retention.purge_all(sessions, within.now(), window)
    assert all(c.purged_at is None and c.document_json for c in _certs(own, numbers))

    past = Clock.starting_at(center_clock.now() + timedelta(minutes=61))
    sweeper = retention.Sweeper(sessions, past, window)
    assert sweeper.maybe() >= 2
    assert sweeper.maybe() == 0  # at most once a minute per worker
    after = _certs(own, numbers)
    assert len(after) == 2
    for c in after:
        assert c.document_json == b"" and c.payload == b"" and c.purged_at is not None
        assert c.content_sha256 == digests[c.number] and len(c.content_sha256) == 64
        assert c.fee > 0 and c.cert_type == "juminhyo" and c.kiosk_id
    with session_factory(own.engine)() as db:
        ledger = db.scalars(select(models.LedgerEntry).where(
            models.LedgerEntry.certificate_number.in_(numbers))).all()  # fmt: skip
        assert len(ledger) == 2
        purged = db.scalars(select(models.AuditEntry.certificate_number).where(
            models.AuditEntry.action == "content_purged")).all()  # fmt: skip
        assert set(numbers) <= set(purged)
        assert audit.verify(db).ok


def test_admin_purge_command(own: Own) -> None:
    numbers = _paid_unprinted(own, "hanako")
    rc, out = own.admin("purge", "--window-s", "0")
    assert rc == 0 and json.loads(out.strip().splitlines()[-1])["purged"] >= 2, out
    assert all(c.document_json == b"" for c in _certs(own, numbers))
