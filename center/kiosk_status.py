"""A kiosk's life at the center: enrolled (active), suspended and resumed, revoked for good.
Every change is an audit line; the next request of a kiosk that is not active is refused
(``Center.kiosk_for``), whatever its certificate still says."""

from __future__ import annotations

from datetime import datetime

from cryptography import x509
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from center import admin_ops, audit, kiosk_enroll, models
from center.pki import CenterPki, fingerprint

ACTIVE, SUSPENDED, REVOKED = "active", "suspended", "revoked"


def _kiosk(db: DbSession, code: str) -> models.Kiosk:
    kiosk = db.scalar(select(models.Kiosk).where(models.Kiosk.code == code).with_for_update())
    if kiosk is None:
        raise ValueError("no such kiosk")
    return kiosk


def suspend(db: DbSession, code: str, at: datetime, actor: str = "admin") -> models.Kiosk:
    kiosk = _kiosk(db, code)
    if kiosk.status == REVOKED:
        raise ValueError(f"kiosk {code} is revoked")
    kiosk.status = SUSPENDED
    audit.record(db, at, "kiosk_suspend", kiosk_id=kiosk.id, actor=actor)
    return kiosk


def resume(db: DbSession, code: str, at: datetime, actor: str = "admin") -> models.Kiosk:
    kiosk = _kiosk(db, code)
    if kiosk.status == REVOKED:
        raise ValueError(f"kiosk {code} is revoked and cannot be resumed")
    kiosk.status = ACTIVE
    audit.record(db, at, "kiosk_resume", kiosk_id=kiosk.id, actor=actor)
    return kiosk


def revoke(db: DbSession, code: str, at: datetime, actor: str = "admin") -> models.Kiosk:
    kiosk = _kiosk(db, code)
    kiosk.status = REVOKED
    audit.record(db, at, "kiosk_revoke", kiosk_id=kiosk.id, actor=actor)
    return kiosk


def enroll(
    db: DbSession,
    pki: CenterPki,
    csr_pem: bytes,
    code: str,
    at: datetime,
    location: str = "",
    actor: str = "admin",
) -> x509.Certificate:
    """Check the kiosk's request, sign it and register (or re-certify) the kiosk. A revoked
    code is refused before anything is signed."""
    csr = kiosk_enroll.check_csr(csr_pem, code)
    existing = db.scalar(select(models.Kiosk).where(models.Kiosk.code == code))
    if existing is not None and existing.status == REVOKED:
        raise ValueError(f"kiosk {code} is revoked: enroll it under a new code")
    cert = kiosk_enroll.sign(pki, csr, code)
    kiosk = admin_ops.register_kiosk(db, code, cert, location)
    db.flush()
    audit.record(db, at, "kiosk_enroll", kiosk_id=kiosk.id, actor=actor,
                 reason=f"cert:{fingerprint(cert)[:16]}")  # fmt: skip
    return cert


def listing(db: DbSession) -> list[dict[str, object]]:
    return [
        {"kiosk": k.code, "id": k.id, "status": k.status, "location": k.location,
         "cert_sha256": k.cert_sha256}  # fmt: skip
        for k in db.scalars(select(models.Kiosk).order_by(models.Kiosk.code))
    ]
