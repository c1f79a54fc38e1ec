"""`kofu center admin import-residents`: a municipality's residents from CSV, upserted by
the city's stable key (``resident_code``), reported per row.

Only the columns the file has are compared and written, so an export without the status
columns never undoes a death or a move-out recorded by a 異動. A row is ``added``,
``changed`` (naming the fields), ``unchanged``, or ``refused`` (naming the field and the
limit or reason; nothing of it is stored). Importing the same file again changes nothing.
"""

from __future__ import annotations

import csv
import io
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import defer

from center import models, register
from center.atrest import session_keystore
from center.keystore import KeyStore
from center.register import FieldRefused
from center.rules import over_limit
from center.service import char_fields
from documents.model import CHARACTER_LIMITS

COLUMNS = ("resident_code", "household", "household_head", *register.FIELDS, "data_as_of")


@dataclass(frozen=True)
class RowReport:
    row: int  # 1-based data row (the header is row 0)
    status: str  # added | changed | unchanged | refused
    fields: tuple[str, ...] = ()  # changed: the fields; refused: the field refused
    reason: str = ""  # refused: the limit or reason
    # fields over SPEC §3's kiosk limits: stored (it is the register), refused at the kiosk
    over_limit: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"row": self.row, "status": self.status}
        if self.status == "refused":
            out["field"] = self.fields[0]
            out["reason"] = self.reason
        elif self.status == "changed":
            out["fields"] = list(self.fields)
        if self.over_limit:
            out["over_limit"] = [
                {"field": f, "limit": CHARACTER_LIMITS[f]} for f in self.over_limit
            ]
        return out


def summary(reports: list[RowReport]) -> dict[str, int]:
    out = {"rows": len(reports), "added": 0, "changed": 0, "unchanged": 0, "refused": 0}
    for rep in reports:
        out[rep.status] += 1
    return out


def import_residents(
    db: DbSession, muni_code: str, text: str, today: date, now: datetime
) -> list[RowReport]:
    """Upsert the file's rows; ``today`` (the center's) is the as-of date of changed data
    when a row has no ``data_as_of``. Raises ValueError for a file that cannot be read."""
    if db.get(models.Municipality, muni_code) is None:
        raise ValueError(f"unknown municipality {muni_code}")
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or ()]
    reader.fieldnames = header
    missing = {"resident_code", *register.REQUIRED} - set(header)
    if missing:
        raise ValueError(f"CSV lacks columns: {', '.join(sorted(missing))}")
    unknown = set(header) - set(COLUMNS)
    if unknown:
        raise ValueError(f"CSV has unknown columns: {', '.join(sorted(unknown))}")
    present = [f for f in register.FIELDS if f in header]
    keys = session_keystore(db)
    # My Number stays sealed: compared by its keyed index, opened only for a changed row
    existing = {
        r.resident_code: r
        for r in db.scalars(
            select(models.Resident)
            .options(defer(models.Resident.my_number))
            .where(models.Resident.municipality_code == muni_code)
        )
    }
    owner = {r.my_number_index: code for code, r in existing.items() if r.my_number_index}
    households = {
        h.code: h
        for h in db.scalars(
            select(models.Household).where(models.Household.municipality_code == muni_code)
        )
    }
    heads = {h.id: h.head_name for h in households.values()}
    seen: set[str] = set()
    reports: dict[int, RowReport] = {}
    checked: list[_Row] = []
    for n, row in enumerate(reader, start=1):
        try:
            checked.append(_check(n, row, present, keys, owner, seen))
        except FieldRefused as exc:
            reports[n] = RowReport(n, "refused", (exc.field,), exc.reason)
    # New households in one batch first: a flush per household would re-scan every
    # pending resident each time (quadratic on a city's first import).
    if "household" in header:
        for c in checked:
            if c.household and c.household not in households:
                fresh = models.Household(municipality_code=muni_code, code=c.household,
                                         head_name=c.head or c.values["name"])  # fmt: skip
                db.add(fresh)
                households[c.household] = fresh
        db.flush()
    events: list[dict[str, Any]] = []
    added: list[models.Resident] = []
    for c in checked:
        resident = existing.get(c.code)
        hh, head_changed = (
            register.household(db, muni_code, c.household, c.head, households)
            if "household" in header
            else (None, False)
        )
        changed: list[str] = []
        if resident is None:
            resident = _new(muni_code, c.code, c.values, hh, c.as_of or today)
            db.add(resident)
            added.append(resident)
            status = "added"
        else:
            changed = [f for f in present if register.differs(resident, f, c.values[f], c.index)]
            if "household" in header and resident.household_id != (hh.id if hh else None):
                changed.append("household")
            if head_changed:
                changed.append("household_head")
            for f in changed:
                if f in c.values:
                    setattr(resident, f, c.values[f])
            if "household" in changed:
                resident.household_id = hh.id if hh else None
            status = "changed" if changed else "unchanged"
            if changed:
                resident.data_as_of = c.as_of or today
                kept = {f: c.values[f] if f in c.values else c.row.get(f) for f in changed}
                events.append(register.event(resident.id, "import", today, None, now, kept))
        if hh is not None:
            head_name: str | None = hh.head_name
        elif resident.household_id is not None:
            head_name = heads.get(resident.household_id)
        else:
            head_name = None
        too_long = tuple(over_limit(char_fields(resident, head_name)))
        reports[c.n] = RowReport(c.n, status, tuple(changed), over_limit=too_long)
    db.flush()
    events.extend(register.event(r.id, "import_added", today, None, now, {}) for r in added)
    if events:
        db.execute(insert(models.ResidentEvent), events)
    return [reports[n] for n in sorted(reports)]


@dataclass(frozen=True)
class _Row:
    n: int
    code: str
    values: dict[str, Any]
    as_of: date | None
    index: str | None  # the My Number's keyed index
    household: str | None
    head: str | None
    row: dict[str, str]


def _check(
    n: int,
    row: dict[str, str],
    present: list[str],
    keys: KeyStore,
    owner: dict[str, str],
    seen: set[str],
) -> _Row:
    """One row parsed and checked against the file so far; raises FieldRefused."""
    code = register.resident_code(row.get("resident_code"))
    if code in seen:
        raise FieldRefused("resident_code", "listed twice in this file")
    values = register.parse_all(row, present)
    as_of = register.parse_date_field("data_as_of", row.get("data_as_of"))
    index = keys.index(values["my_number"]) if values.get("my_number") else None
    if index is not None and owner.get(index, code) != code:
        raise FieldRefused("my_number", "the My Number of another resident")
    hh_code = (row.get("household") or "").strip() or None
    head = (row.get("household_head") or "").strip() or None
    if hh_code is None and head is not None:
        raise FieldRefused("household_head", "needs a household")
    if hh_code is not None and len(hh_code) > 20:
        raise FieldRefused("household", "at most 20 characters")
    seen.add(code)
    if index is not None:
        owner[index] = code
    return _Row(n, code, values, as_of, index, hh_code, head, row)


def _new(
    muni_code: str,
    code: str,
    values: dict[str, Any],
    hh: models.Household | None,
    as_of: date,
) -> models.Resident:
    fields = {k: v for k, v in values.items() if v is not None}
    fields.setdefault("resident_since", values.get("moved_in") or values["birth_date"])
    for flag in register.FLAG_FIELDS:
        fields.setdefault(flag, False)
    return models.Resident(
        uid=secrets.token_hex(8),
        municipality_code=muni_code,
        resident_code=code,
        household_id=hh.id if hh else None,
        registered=True,
        data_as_of=as_of,
        **fields,
    )
