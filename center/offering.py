"""What a municipality offers at the kiosk, per certificate type: offered or not, the kiosk
and counter fees, hours (weekdays only or every day), the 住民票 items allowed at the kiosk,
the copies limit, how many fiscal years; and its maintenance windows with the notice citizens
see. Read by the center's menu and order; written only by :func:`apply` (from
`kofu center admin apply offering.toml`, see :mod:`center.offering_file`, and the demo).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time

from sqlalchemy import delete, select
from sqlalchemy.orm import Session as DbSession

from center import models
from center.clock import JST
from center.rules import Window
from documents.model import CertificateType, JuminhyoOption

ALL_OPTIONS = frozenset(JuminhyoOption)
INCOME_TYPES = (CertificateType.SHOTOKU, CertificateType.SHOTOKU_KAZEI)
DEFAULT_OPENS, DEFAULT_CLOSES = "06:30", "23:00"
DEFAULT_MAX_COPIES = 10
COPIES_LIMIT = 99  # the most copies per type any city may allow (the API's bound)


def hhmm(text: str) -> time:
    """``HH:MM`` Japan time; ``24:00`` is the end of the day."""
    hours, minutes = text.split(":")
    if (int(hours), int(minutes)) == (24, 0):
        return time.max
    return time(int(hours), int(minutes))


@dataclass(frozen=True)
class TypeOffering:
    kind: CertificateType
    offered: bool = True
    kiosk_fee: int = 0
    counter_fee: int = 0
    opens: str = DEFAULT_OPENS
    closes: str = DEFAULT_CLOSES
    weekdays_only: bool = False  # Monday to Friday (public holidays: a maintenance window)
    kiosk_options: frozenset[JuminhyoOption] = frozenset()  # 住民票 only
    max_copies: int = DEFAULT_MAX_COPIES
    fiscal_years: int | None = None  # 所得 / 所得課税: the latest N; None: all on record

    def open_at(self, instant: datetime) -> bool:
        local = instant.astimezone(JST)
        if self.weekdays_only and local.weekday() >= 5:
            return False
        return hhmm(self.opens) <= local.time().replace(tzinfo=None) < hhmm(self.closes)

    def years(self, on_record: list[int], today: date) -> list[int]:
        """The fiscal years offered of those on record, newest first."""
        newest = sorted(on_record, reverse=True)
        if self.fiscal_years is None:
            return newest
        latest = latest_fiscal_year(today)
        return [y for y in newest if latest - self.fiscal_years < y <= latest]


@dataclass(frozen=True)
class Notice:
    """A maintenance window: yearly (``MM-DD`` first and last day, may wrap the year end) or
    one-off (aware datetimes), with what the citizen is told while it is on."""

    yearly_from: str | None = None
    yearly_to: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    notice_ja: str = ""
    notice_en: str = ""

    def window(self) -> Window:
        return Window(self.yearly_from, self.yearly_to, self.starts_at, self.ends_at)


@dataclass(frozen=True)
class MunicipalityOffering:
    code: str
    types: tuple[TypeOffering, ...]  # one per CertificateType, in its order
    opens: str = DEFAULT_OPENS  # the file's default hours, kept on the municipality
    closes: str = DEFAULT_CLOSES
    # None: leave the windows as they are (the file had no ``maintenance``)
    maintenance: tuple[Notice, ...] | None = None
    source: str = field(default="", compare=False)

    def of(self, kind: CertificateType) -> TypeOffering:
        return next(t for t in self.types if t.kind is kind)


def latest_fiscal_year(today: date) -> int:
    """The newest 年度 an income certificate exists for: a 年度's certificate (the previous
    calendar year's income) is issued from June, when the tax is assessed."""
    return today.year if today.month >= 6 else today.year - 1


def everything(code: str, kiosk_fee: int, counter_fee: int, opens: str = DEFAULT_OPENS,
               closes: str = DEFAULT_CLOSES) -> MunicipalityOffering:  # fmt: skip
    """All four types at one fee, every 住民票 item, 10 copies: a new municipality's start."""
    return MunicipalityOffering(
        code,
        tuple(
            TypeOffering(
                kind,
                True,
                kiosk_fee,
                counter_fee,
                opens,
                closes,
                kiosk_options=ALL_OPTIONS if kind is CertificateType.JUMINHYO else frozenset(),
            )  # fmt: skip
            for kind in CertificateType
        ),
        opens,
        closes,
    )


# --- the database ----------------------------------------------------------------------


def _type_of(row: models.Offering) -> TypeOffering:
    return TypeOffering(
        kind=CertificateType(row.cert_type),
        offered=row.offered,
        kiosk_fee=row.kiosk_fee,
        counter_fee=row.counter_fee,
        opens=row.opens,
        closes=row.closes,
        weekdays_only=row.weekdays_only,
        kiosk_options=frozenset(JuminhyoOption(o) for o in row.kiosk_options or ()),
        max_copies=row.max_copies,
        fiscal_years=row.fiscal_years,
    )


def types_of(db: DbSession, code: str) -> dict[CertificateType, TypeOffering]:
    """The municipality's offering per type; a type without a row is not offered."""
    rows = db.scalars(select(models.Offering).where(models.Offering.municipality_code == code))
    found = {CertificateType(r.cert_type): _type_of(r) for r in rows}
    return {k: found.get(k) or TypeOffering(k, offered=False) for k in CertificateType}


def _notice_of(w: models.MaintenanceWindow) -> Notice:
    return Notice(w.yearly_from, w.yearly_to, w.starts_at, w.ends_at, w.notice_ja, w.notice_en)


def windows_of(db: DbSession, code: str) -> list[Notice]:
    rows = db.scalars(
        select(models.MaintenanceWindow)
        .where(models.MaintenanceWindow.municipality_code == code)
        .order_by(models.MaintenanceWindow.id)
    )
    return [_notice_of(w) for w in rows]


def load(db: DbSession, code: str) -> MunicipalityOffering:
    muni = db.get(models.Municipality, code)
    if muni is None:
        raise ValueError(f"no municipality {code}")
    types = types_of(db, code)
    return MunicipalityOffering(
        code, tuple(types[k] for k in CertificateType), muni.opens, muni.closes,
        tuple(windows_of(db, code)),
    )  # fmt: skip


def _columns(t: TypeOffering) -> dict[str, object]:
    return {
        "offered": t.offered,
        "kiosk_fee": t.kiosk_fee,
        "counter_fee": t.counter_fee,
        "opens": t.opens,
        "closes": t.closes,
        "weekdays_only": t.weekdays_only,
        "kiosk_options": sorted(str(o) for o in t.kiosk_options),
        "max_copies": t.max_copies,
        "fiscal_years": t.fiscal_years,
    }


def _window_key(n: Notice) -> tuple[str, ...]:
    return tuple(
        "" if v is None else v.isoformat() if isinstance(v, datetime) else str(v)
        for v in (n.yearly_from, n.yearly_to, n.starts_at, n.ends_at, n.notice_ja, n.notice_en)
    )


def apply(db: DbSession, offering: MunicipalityOffering) -> list[str]:
    """Make the database say what ``offering`` says; the lines name what changed (none when
    it already did: applying the same file twice changes nothing)."""
    code = offering.code
    muni = db.get(models.Municipality, code)
    if muni is None:
        raise ValueError(f"no municipality {code} (create it first: create-municipality)")
    changes: list[str] = []
    for name in ("opens", "closes"):
        old, new = getattr(muni, name), getattr(offering, name)
        if old != new:
            setattr(muni, name, new)
            changes.append(f"{code} {name}: {old} -> {new}")
    for t in offering.types:
        row = db.get(models.Offering, (code, str(t.kind)))
        wanted = _columns(t)
        if row is None:
            db.add(models.Offering(municipality_code=code, cert_type=str(t.kind), **wanted))
            changes.append(f"{code} {t.kind}: added")
            continue
        for name, new in wanted.items():
            old = getattr(row, name)
            if old != new:
                setattr(row, name, new)
                changes.append(f"{code} {t.kind}.{name}: {old} -> {new}")
    if offering.maintenance is not None:
        before = windows_of(db, code)
        if sorted(map(_window_key, before)) != sorted(map(_window_key, offering.maintenance)):
            db.execute(
                delete(models.MaintenanceWindow).where(
                    models.MaintenanceWindow.municipality_code == code
                )
            )
            for n in offering.maintenance:
                db.add(
                    models.MaintenanceWindow(
                        municipality_code=code, yearly_from=n.yearly_from,
                        yearly_to=n.yearly_to, starts_at=n.starts_at, ends_at=n.ends_at,
                        note="offering", notice_ja=n.notice_ja, notice_en=n.notice_en,
                    )
                )  # fmt: skip
            changes.append(
                f"{code} maintenance: {len(before)} window(s) -> {len(offering.maintenance)}"
            )
    db.flush()
    return changes
