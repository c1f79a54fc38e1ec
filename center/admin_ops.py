"""Operations behind `kofu center admin` (and the demo seeding): records in, reports out."""

from __future__ import annotations

import csv
import io
import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from center import models, offering
from center.atrest import session_keystore
from center.clock import JST
from center.jpki import serial_hex
from center.pki import fingerprint
from center.seal import draw_seal


def new_uid() -> str:
    return secrets.token_hex(8)


def create_municipality(
    db: DbSession,
    code: str,
    name: str,
    mayor_title: str,
    mayor_name: str,
    kiosk_fee: int,
    counter_fee: int,
    seal_png: bytes | None = None,
    opens: str = "06:30",
    closes: str = "23:00",
) -> models.Municipality:
    if not (len(code) == 6 and code.isdigit()):
        raise ValueError("municipality code must be 6 digits")
    # made inside the token, non-extractable: only its id and public key come back
    key_id, public_key = session_keystore(db).create_signing_key()
    muni = models.Municipality(
        code=code,
        name=name,
        mayor_title=mayor_title,
        mayor_name=mayor_name,
        seal_png=seal_png or draw_seal(name + "長之印", square=True),
        signing_key_id=key_id,
        public_key=public_key,
        opens=opens,
        closes=closes,
    )
    db.add(muni)
    db.flush()  # no ORM relationships: the parent row goes first
    # every type at one fee until the city applies its own offering.toml
    offering.apply(db, offering.everything(code, kiosk_fee, counter_fee, opens, closes))
    # the year-end closure every municipality has (29 Dec - 3 Jan)
    db.add(
        models.MaintenanceWindow(
            municipality_code=code, yearly_from="12-29", yearly_to="01-03", note="year end"
        )
    )
    db.flush()
    return muni


def register_kiosk(
    db: DbSession, code: str, cert: x509.Certificate, location: str = ""
) -> models.Kiosk:
    existing = db.scalar(select(models.Kiosk).where(models.Kiosk.code == code))
    if existing is not None:  # a re-issued certificate replaces the old one
        if existing.status == "revoked":
            raise ValueError(f"kiosk {code} is revoked: enroll it under a new code")
        existing.cert_sha256 = fingerprint(cert)  # a suspended kiosk stays suspended
        return existing
    kiosk = models.Kiosk(
        code=code,
        cert_sha256=fingerprint(cert),
        location=location,
        registered_at=datetime.now(UTC),
    )
    db.add(kiosk)
    db.flush()
    return kiosk


def register_card(
    db: DbSession, resident: models.Resident, cert: x509.Certificate, issued_on: date
) -> models.CardCertificate:
    card = models.CardCertificate(
        issuer_dn=cert.issuer.rfc4514_string(),
        serial=serial_hex(cert.serial_number),
        resident_id=resident.id,
        issued_on=issued_on,
        certificate_der=cert.public_bytes(Encoding.DER),
    )
    db.add(card)
    db.flush()
    return card


def revoke_card(
    db: DbSession, cert: x509.Certificate, reason: str, at: datetime
) -> models.CardRevocation:
    rev = models.CardRevocation(
        issuer_dn=cert.issuer.rfc4514_string(),
        serial=serial_hex(cert.serial_number),
        revoked_at=at,
        reason=reason,
    )
    db.add(rev)
    db.flush()
    return rev


def register_seal(
    db: DbSession, resident: models.Resident, number: str, text: str, on: date
) -> models.SealRegistration:
    seal = models.SealRegistration(
        resident_id=resident.id,
        registration_number=number,
        image_png=draw_seal(text, square=False),
        registered_on=on,
    )
    db.add(seal)
    return seal


# Residents come in by `center/register_import.py` and change by `center/idou.py`.


# --- daily ledger ------------------------------------------------------------------------


def ledger_csv(db: DbSession, muni_code: str, day: date) -> str:
    """One municipality's ledger for one Japan-time day, for reconciliation."""
    start = datetime(day.year, day.month, day.day, tzinfo=JST)
    end = start + timedelta(days=1)
    rows = db.execute(
        select(models.LedgerEntry, models.Kiosk.code)
        .join(models.Kiosk, models.Kiosk.id == models.LedgerEntry.kiosk_id)
        .where(
            models.LedgerEntry.municipality_code == muni_code,
            models.LedgerEntry.at >= start,
            models.LedgerEntry.at < end,
        )
        .order_by(models.LedgerEntry.at, models.LedgerEntry.id)
    ).all()
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["time_jst", "kiosk", "certificate_number", "type", "kind", "fee"])
    total = 0
    for entry, kiosk_code in rows:
        w.writerow(
            [
                entry.at.astimezone(JST).isoformat(timespec="seconds"),
                kiosk_code,
                entry.certificate_number,
                entry.cert_type,
                entry.kind,
                entry.fee,
            ]
        )
        total += entry.fee
    w.writerow(["total", "", "", "", str(len(rows)), total])
    return out.getvalue()


def any_rows(db: DbSession, model: Any) -> bool:
    return db.scalar(select(model).limit(1)) is not None


def kiosk_health(db: DbSession) -> list[dict[str, Any]]:
    """Every registered kiosk with its latest health report (None fields: never reported)."""
    rows: list[dict[str, Any]] = []
    for kiosk in db.scalars(select(models.Kiosk).order_by(models.Kiosk.code)):
        rep = db.get(models.KioskHealth, kiosk.id)
        bad = (
            {n: d.get("reason", "") for n, d in rep.devices.items() if not d.get("ok")}
            if rep
            else {}
        )
        rows.append(
            {
                "kiosk": kiosk.code,
                "location": kiosk.location,
                "reported_at": rep.received_at.isoformat() if rep else None,
                "ready": rep.ready if rep else None,
                "state": rep.state if rep else None,
                "unusable": bad,
            }
        )
    return rows
