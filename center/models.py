"""Database tables (SQLAlchemy 2 ORM). The schema itself is owned by the Alembic migrations in
``center/migrations``; a test checks that these models and the migrations agree.

Everything a request needs lives here rather than in worker memory (challenges, sessions,
orders), so any worker process can serve any request of a session.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from center.atrest import SealedBytes, SealedText, keep_index
from center.dbtypes import UTCDateTime


class Base(DeclarativeBase):
    pass


class Municipality(Base):
    __tablename__ = "municipalities"

    code: Mapped[str] = mapped_column(String(6), primary_key=True)  # 全国地方公共団体コード
    name: Mapped[str] = mapped_column(String(40))
    mayor_title: Mapped[str] = mapped_column(String(40))
    mayor_name: Mapped[str] = mapped_column(String(40))
    seal_png: Mapped[bytes] = mapped_column(LargeBinary)  # the issuer's official seal (公印)
    # The Ed25519 private key lives in the PKCS#11 token (center/keystore.py): its CKA_ID.
    signing_key_id: Mapped[str] = mapped_column(String(32))
    public_key: Mapped[bytes] = mapped_column(LargeBinary)  # Ed25519 public key, raw 32 bytes
    opens: Mapped[str] = mapped_column(String(5), default="06:30")  # HH:MM Japan time
    closes: Mapped[str] = mapped_column(String(5), default="23:00")


class Offering(Base):
    """What a municipality offers at the kiosk, per certificate type (`center/offering.py`;
    set by `kofu center admin apply offering.toml`). ``opens``/``closes`` are Japan time."""

    __tablename__ = "offerings"

    municipality_code: Mapped[str] = mapped_column(
        ForeignKey("municipalities.code"), primary_key=True
    )
    cert_type: Mapped[str] = mapped_column(String(20), primary_key=True)
    offered: Mapped[bool] = mapped_column(Boolean, default=True)
    kiosk_fee: Mapped[int] = mapped_column(Integer)
    counter_fee: Mapped[int] = mapped_column(Integer)
    opens: Mapped[str] = mapped_column(String(5), default="06:30")
    closes: Mapped[str] = mapped_column(String(5), default="23:00")
    weekdays_only: Mapped[bool] = mapped_column(Boolean, default=False)  # Monday to Friday
    # 住民票 only: the JuminhyoOption values allowed at the kiosk (others: empty)
    kiosk_options: Mapped[list[str]] = mapped_column(JSON, default=list)
    max_copies: Mapped[int] = mapped_column(Integer, default=10)
    # 所得 / 所得課税: how many fiscal years, the latest first; None: every year on record
    fiscal_years: Mapped[int | None] = mapped_column(Integer, nullable=True)


class MaintenanceWindow(Base):
    """Either yearly (``MM-DD`` first and last day, inclusive, may wrap the year end) or a
    one-off interval (aware datetimes)."""

    __tablename__ = "maintenance_windows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    municipality_code: Mapped[str] = mapped_column(ForeignKey("municipalities.code"), index=True)
    yearly_from: Mapped[str | None] = mapped_column(String(5), nullable=True)
    yearly_to: Mapped[str | None] = mapped_column(String(5), nullable=True)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    note: Mapped[str] = mapped_column(String(80), default="")  # for the operators
    # what the kiosk shows the citizen while the window is on (offering.toml)
    notice_ja: Mapped[str] = mapped_column(String(120), default="")
    notice_en: Mapped[str] = mapped_column(String(120), default="")


class Household(Base):
    __tablename__ = "households"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    municipality_code: Mapped[str] = mapped_column(ForeignKey("municipalities.code"), index=True)
    code: Mapped[str] = mapped_column(String(20))
    head_name: Mapped[str] = mapped_column(Text)  # 世帯主名

    __table_args__ = (UniqueConstraint("municipality_code", "code"),)


class Resident(Base):
    __tablename__ = "residents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # Opaque id the kiosk may see (menu member ids); never the My Number.
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    municipality_code: Mapped[str] = mapped_column(ForeignKey("municipalities.code"), index=True)
    # The city's stable key for this person (住民票コード or its own): imports and 異動 find
    # the resident by it, never by insert order.
    resident_code: Mapped[str] = mapped_column(String(20))
    household_id: Mapped[int | None] = mapped_column(
        ForeignKey("households.id"), nullable=True, index=True
    )
    name: Mapped[str] = mapped_column(Text)  # 漢字氏名
    kana: Mapped[str] = mapped_column(Text)
    alias: Mapped[str | None] = mapped_column(Text, nullable=True)  # 通称名
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(2))
    resident_since: Mapped[date] = mapped_column(Date)  # 住民となった年月日
    moved_in: Mapped[date | None] = mapped_column(Date, nullable=True)  # 住所を定めた年月日
    move_in_filed: Mapped[date | None] = mapped_column(Date, nullable=True)  # 転入届の届出日
    former_surname: Mapped[str | None] = mapped_column(Text, nullable=True)  # 旧氏
    address: Mapped[str] = mapped_column(Text)
    previous_address: Mapped[str | None] = mapped_column(Text, nullable=True)
    relationship: Mapped[str | None] = mapped_column(Text, nullable=True)  # 続柄
    # Sealed at rest (center/atrest.py); found through the keyed index, never by value.
    my_number: Mapped[str | None] = mapped_column(
        "my_number_sealed", SealedText("residents.my_number"), nullable=True
    )
    my_number_index: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    honseki: Mapped[str | None] = mapped_column(Text, nullable=True)
    hittosha: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Foreign residents: nationality set means foreign resident.
    nationality: Mapped[str | None] = mapped_column(Text, nullable=True)
    residence_card_number: Mapped[str | None] = mapped_column(
        "residence_card_number_sealed",
        SealedText("residents.residence_card_number"),
        nullable=True,
    )
    article_30_45: Mapped[str | None] = mapped_column(Text, nullable=True)
    residence_status: Mapped[str | None] = mapped_column(Text, nullable=True)
    period_of_stay: Mapped[str | None] = mapped_column(Text, nullable=True)
    stay_expiry: Mapped[date | None] = mapped_column(Date, nullable=True)
    # Status flags (SPEC §3)
    registered: Mapped[bool] = mapped_column(Boolean, default=True)
    moved_out: Mapped[bool] = mapped_column(Boolean, default=False)
    move_out_filed: Mapped[bool] = mapped_column(Boolean, default=False)
    support_measures: Mapped[bool] = mapped_column(Boolean, default=False)
    deceased: Mapped[bool] = mapped_column(Boolean, default=False)
    gaiji_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    data_as_of: Mapped[date] = mapped_column(Date)

    __table_args__ = (UniqueConstraint("municipality_code", "resident_code"),)

    @property
    def foreign(self) -> bool:
        return self.nationality is not None


keep_index(Resident)


class ResidentEvent(Base):
    """The register's history: one row per 異動, import change, seal or income record, with
    its 届出日. It is the register, so it may hold the new values (never a sealed one)."""

    __tablename__ = "resident_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    filed_on: Mapped[date] = mapped_column(Date)  # 届出日
    effective_on: Mapped[date | None] = mapped_column(Date, nullable=True)  # 異動日
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)


class SealRegistration(Base):
    __tablename__ = "seal_registrations"

    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), primary_key=True)
    registration_number: Mapped[str] = mapped_column(String(20))
    image_png: Mapped[bytes] = mapped_column(LargeBinary)
    registered_on: Mapped[date] = mapped_column(Date)


class IncomeRecord(Base):
    __tablename__ = "income_records"

    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    total_income: Mapped[int] = mapped_column(Integer)
    salary_income: Mapped[int] = mapped_column(Integer, default=0)
    other_income: Mapped[int] = mapped_column(Integer, default=0)
    deductions: Mapped[int] = mapped_column(Integer, default=0)
    dependents: Mapped[int] = mapped_column(Integer, default=0)
    municipal_tax: Mapped[int] = mapped_column(Integer, default=0)
    prefectural_tax: Mapped[int] = mapped_column(Integer, default=0)


class CardCertificate(Base):
    """A JPKI user-authentication certificate mapped to a resident (serial -> resident)."""

    __tablename__ = "card_certificates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    issuer_dn: Mapped[str] = mapped_column(Text)
    serial: Mapped[str] = mapped_column(String(64))  # hex
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    issued_on: Mapped[date] = mapped_column(Date)  # usable from the next day
    certificate_der: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (UniqueConstraint("issuer_dn", "serial"),)


class CardRevocation(Base):
    """The center's own revocations (on top of the CA's CRL), e.g. a card reported lost."""

    __tablename__ = "card_revocations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    issuer_dn: Mapped[str] = mapped_column(Text)
    serial: Mapped[str] = mapped_column(String(64), index=True)
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(String(80), default="")


class Kiosk(Base):
    __tablename__ = "kiosks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)  # the client cert's CN
    cert_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    location: Mapped[str] = mapped_column(String(80), default="")
    # active | suspended | revoked (`kofu center admin kiosk ...`); only active kiosks are
    # served, and a revoked kiosk never comes back (enroll a new code instead).
    status: Mapped[str] = mapped_column(String(10), default="active")
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime())


class KioskHealth(Base):
    """The latest health report of each kiosk (`POST /v1/kiosk/health`): per device ok, a
    short reason code and since when. Codes only: a kiosk never reports personal data."""

    __tablename__ = "kiosk_health"

    kiosk_id: Mapped[int] = mapped_column(ForeignKey("kiosks.id"), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ready: Mapped[bool] = mapped_column(Boolean)
    state: Mapped[str] = mapped_column(String(40), default="")
    devices: Mapped[dict[str, Any]] = mapped_column(JSON)


class Challenge(Base):
    __tablename__ = "challenges"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    nonce: Mapped[bytes] = mapped_column(LargeBinary)
    kiosk_id: Mapped[int] = mapped_column(ForeignKey("kiosks.id"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used: Mapped[bool] = mapped_column(Boolean, default=False)


class Session(Base):
    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)  # the token is not stored
    kiosk_id: Mapped[int] = mapped_column(ForeignKey("kiosks.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended: Mapped[bool] = mapped_column(Boolean, default=False)
    # The absolute lifetime counts from here; activity only moves `expires_at` (idle limit).
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The card that opened the session, re-checked against revocations at order and payment.
    card_issuer: Mapped[str | None] = mapped_column(Text, nullable=True)
    card_serial: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), index=True)
    kiosk_id: Mapped[int] = mapped_column(ForeignKey("kiosks.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    municipality_code: Mapped[str] = mapped_column(ForeignKey("municipalities.code"))
    lines: Mapped[list[dict[str, object]]] = mapped_column(JSON)
    total: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default="quoted")  # quoted | paid | void
    idempotency_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Certificate(Base):
    __tablename__ = "certificates"

    number: Mapped[str] = mapped_column(String(32), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # order of issue within the order
    kiosk_id: Mapped[int] = mapped_column(ForeignKey("kiosks.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))  # the applicant
    subject_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))  # whose certificate
    municipality_code: Mapped[str] = mapped_column(ForeignKey("municipalities.code"))
    cert_type: Mapped[str] = mapped_column(String(20))
    document_json: Mapped[bytes] = mapped_column(SealedBytes("certificates.document_json"))
    payload: Mapped[bytes] = mapped_column(SealedBytes("certificates.payload"))
    fee: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # pending -> ok (final) | failed; failed -> pending again only by a clerk's reprint
    print_status: Mapped[str] = mapped_column(String(10), default="pending")
    reprints: Mapped[int] = mapped_column(Integer, default=0)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # What the ledger keeps once the content is purged: SHA-256 of document_json + payload.
    content_sha256: Mapped[str] = mapped_column(String(64), default="")
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Clerk(Base):
    """A clerk the center itself verifies before a reprint: an id and a scrypt hash of a
    6-12 digit PIN (the same ``scrypt$N$r$p$salt$hash`` text `kofu kiosk clerk-pin` prints),
    with a lockout that grows with each wrong PIN."""

    __tablename__ = "clerks"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    pin_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ClerkSession(Base):
    """A clerk signed in at one kiosk, for a few minutes (the token itself is not stored)."""

    __tablename__ = "clerk_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    clerk_id: Mapped[str] = mapped_column(ForeignKey("clerks.id"), index=True)
    kiosk_id: Mapped[int] = mapped_column(ForeignKey("kiosks.id"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended: Mapped[bool] = mapped_column(Boolean, default=False)


class CrlNumber(Base):
    """The highest CRL number accepted per JPKI CA: an older CRL put back is refused."""

    __tablename__ = "crl_numbers"

    issuer_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    number: Mapped[str] = mapped_column(String(60))  # decimal; CRL numbers reach 20 octets
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LedgerEntry(Base):
    __tablename__ = "ledger"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    municipality_code: Mapped[str] = mapped_column(ForeignKey("municipalities.code"), index=True)
    kiosk_id: Mapped[int] = mapped_column(ForeignKey("kiosks.id"))
    certificate_number: Mapped[str] = mapped_column(ForeignKey("certificates.number"))
    cert_type: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(10))  # issue | reprint
    fee: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class AuditEntry(Base):
    """One line of the hash-chained audit log (``center/audit.py``): append only, through
    ``audit.record``. ``entry_hash`` covers the line and ``prev_hash``, so an edited, inserted
    or removed line breaks the chain (`kofu center admin audit verify`)."""

    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)  # 1, 2, 3, ... in chain order
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    kiosk_id: Mapped[int | None] = mapped_column(ForeignKey("kiosks.id"), nullable=True)
    action: Mapped[str] = mapped_column(String(40))
    certificate_number: Mapped[str | None] = mapped_column(String(32), nullable=True)
    detail: Mapped[str] = mapped_column(Text, default="")  # never names, addresses or numbers
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The chain's newest line (one row, id 1): appends lock it, so writers in any number of
    processes chain one after another; verify compares it with the last line."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    entry_hash: Mapped[str] = mapped_column(String(64))
