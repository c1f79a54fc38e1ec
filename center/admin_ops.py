"""Operations behind `kofu center admin` (and the demo seeding): records in, reports out."""

from __future__ import annotations

import csv
import io
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from center import models
from center.atrest import session_keystore
from center.clock import JST
from center.jpki import serial_hex
from center.pki import fingerprint
from center.rules import over_limit
from center.seal import draw_seal
from documents.model import CertificateType


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
    for kind in CertificateType:
        db.add(
            models.Fee(
                municipality_code=code,
                cert_type=str(kind),
                kiosk_fee=kiosk_fee,
                counter_fee=counter_fee,
            )
        )
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


# --- residents from CSV ----------------------------------------------------------------

CSV_COLUMNS = (
    "household", "household_head", "relationship", "name", "kana", "alias", "birth_date",
    "sex", "resident_since", "moved_in", "address", "previous_address", "my_number",
    "honseki", "hittosha", "nationality", "residence_card_number", "article_30_45",
    "residence_status", "period_of_stay", "stay_expiry", "data_as_of",
)  # fmt: skip
FLAG_COLUMNS = (
    "moved_out", "move_out_filed", "support_measures", "deceased", "gaiji_pending",
)  # fmt: skip


@dataclass(frozen=True)
class RowReport:
    row: int  # 1-based data row (the header is row 0)
    status: str  # imported | imported_over_limit | rejected
    fields: tuple[str, ...] = ()  # over the character limit, or malformed
    message: str = ""


def _opt(row: dict[str, str], key: str) -> str | None:
    value = (row.get(key) or "").strip()
    return value or None


def _date(row: dict[str, str], key: str) -> date | None:
    value = _opt(row, key)
    return date.fromisoformat(value) if value else None


def import_residents(db: DbSession, muni_code: str, text: str, today: date) -> list[RowReport]:
    """Import residents; each row is checked against the character limits and reported.
    A row over a limit is still imported (it is the resident register), but that resident
    will be refused at the kiosk; a malformed row is rejected and nothing of it is stored.
    ``today`` (the center's) is the data's as-of date when a row has none."""
    if db.get(models.Municipality, muni_code) is None:
        raise ValueError(f"unknown municipality {muni_code}")
    reader = csv.DictReader(io.StringIO(text))
    missing = {"name", "kana", "birth_date", "sex", "address"} - set(reader.fieldnames or ())
    if missing:
        raise ValueError(f"CSV lacks columns: {', '.join(sorted(missing))}")
    reports: list[RowReport] = []
    households: dict[str, models.Household] = {
        h.code: h
        for h in db.scalars(
            select(models.Household).where(models.Household.municipality_code == muni_code)
        )
    }
    for n, row in enumerate(reader, start=1):
        try:
            birth = _date(row, "birth_date")
            if birth is None or (row.get("sex") or "").strip() not in ("男", "女"):
                raise ValueError("birth_date and sex (男/女) are required")
            hh = None
            code = _opt(row, "household")
            if code:
                hh = households.get(code)
                if hh is None:
                    hh = models.Household(
                        municipality_code=muni_code,
                        code=code,
                        head_name=_opt(row, "household_head") or row["name"],
                    )
                    db.add(hh)
                    db.flush()
                    households[code] = hh
            fields = {k: _opt(row, k) for k in CSV_COLUMNS}
            fields["household_head"] = hh.head_name if hh else None
            too_long = tuple(over_limit(fields))
            moved_in = _date(row, "moved_in")
            flags = {
                k: (row.get(k) or "").strip().lower() in ("1", "true", "yes") for k in FLAG_COLUMNS
            }
            with db.begin_nested():
                db.add(
                    models.Resident(
                        uid=new_uid(),
                        municipality_code=muni_code,
                        household_id=hh.id if hh else None,
                        name=row["name"].strip(),
                        kana=row["kana"].strip(),
                        alias=fields["alias"],
                        birth_date=birth,
                        sex=row["sex"].strip(),
                        resident_since=_date(row, "resident_since") or moved_in or birth,
                        moved_in=moved_in,
                        address=row["address"].strip(),
                        previous_address=fields["previous_address"],
                        relationship=fields["relationship"],
                        my_number=fields["my_number"],
                        honseki=fields["honseki"],
                        hittosha=fields["hittosha"],
                        nationality=fields["nationality"],
                        residence_card_number=fields["residence_card_number"],
                        article_30_45=fields["article_30_45"],
                        residence_status=fields["residence_status"],
                        period_of_stay=fields["period_of_stay"],
                        stay_expiry=_date(row, "stay_expiry"),
                        data_as_of=_date(row, "data_as_of") or today,
                        **flags,
                    )
                )
            status = "imported_over_limit" if too_long else "imported"
            reports.append(RowReport(n, status, too_long))
        except (ValueError, KeyError) as exc:
            reports.append(RowReport(n, "rejected", (), str(exc).split(":")[0][:80]))
    return reports


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
