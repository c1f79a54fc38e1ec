"""The resident register's fields: how a text value from a CSV row, a feed line or an admin
flag is checked and written onto a Resident, and how each change is kept in
``resident_events``. Shared by the import (`center/register_import.py`) and the 異動
records (`center/idou.py`).

A refused value raises :class:`FieldRefused` naming the field and the limit or reason, never
the value: reports and the audit log carry field names only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from center import models

# The city's stable key: an 11-digit 住民票コード or its own (letters, digits, '-').
RESIDENT_CODE = re.compile(r"[0-9A-Za-z-]{1,20}")
MY_NUMBER = re.compile(r"[0-9]{12}")
# Longest free text the register takes (the kiosk's own, lower limits are SPEC §3's and
# only make the kiosk refuse that resident; see center.rules.over_limit).
TEXT_LIMIT = 200

TEXT_FIELDS = (
    "relationship", "name", "kana", "alias", "address", "previous_address", "honseki",
    "hittosha", "nationality", "residence_card_number", "article_30_45", "residence_status",
    "period_of_stay", "former_surname",
)  # fmt: skip
DATE_FIELDS = ("birth_date", "resident_since", "moved_in", "move_in_filed", "stay_expiry")
FLAG_FIELDS = ("moved_out", "move_out_filed", "support_measures", "deceased", "gaiji_pending")
REQUIRED = ("name", "kana", "birth_date", "sex", "address")
SEALED = ("my_number", "residence_card_number")  # never written to history in clear
# Every column a row or a record may carry (besides resident_code, household and
# household_head, which find or make the household).
FIELDS = (*TEXT_FIELDS, *DATE_FIELDS, *FLAG_FIELDS, "sex", "my_number")


class FieldRefused(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def resident_code(text: str | None) -> str:
    value = (text or "").strip()
    if not value:
        raise FieldRefused("resident_code", "required")
    if not RESIDENT_CODE.fullmatch(value):
        raise FieldRefused("resident_code", "11-digit 住民票コード or 1-20 letters, digits, -")
    return value


def parse(field: str, text: str | None) -> Any:
    """One field's value from text ('' and None: empty). Raises FieldRefused."""
    value = (text or "").strip()
    if field in FLAG_FIELDS:
        if value.lower() in ("1", "true", "yes"):
            return True
        if value.lower() in ("", "0", "false", "no"):
            return False
        raise FieldRefused(field, "1/true/yes or 0/false/no")
    if not value:
        if field in REQUIRED:
            raise FieldRefused(field, "required")
        return None
    if field in DATE_FIELDS:
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise FieldRefused(field, "a date YYYY-MM-DD") from None
    if field == "sex":
        if value not in ("男", "女"):
            raise FieldRefused(field, "男 or 女")
        return value
    if field == "my_number":
        if not MY_NUMBER.fullmatch(value):
            raise FieldRefused(field, "12 digits")
        return value
    if field in TEXT_FIELDS:
        if len(value) > TEXT_LIMIT:
            raise FieldRefused(field, f"at most {TEXT_LIMIT} characters")
        return value
    raise FieldRefused(field, "not a register field")


def parse_date_field(field: str, text: str | None) -> date | None:
    value = (text or "").strip()
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        raise FieldRefused(field, "a date YYYY-MM-DD") from None


def parse_all(values: Mapping[str, str | None], fields: Iterable[str]) -> dict[str, Any]:
    return {f: parse(f, values.get(f)) for f in fields}


def differs(resident: models.Resident, field: str, value: Any, my_number_index: str | None) -> bool:
    """Whether ``value`` changes the resident's field; My Number by its keyed index, so an
    unchanged one is never opened."""
    if field == "my_number":
        return my_number_index != resident.my_number_index
    return bool(getattr(resident, field) != value)


def household(
    db: DbSession,
    muni_code: str,
    code: str | None,
    head_name: str | None,
    cache: dict[str, models.Household] | None = None,
    new_head: str | None = None,
) -> tuple[models.Household | None, bool]:
    """The household with that code (made if new, headed by ``head_name`` or else
    ``new_head``), its head's name set when given; whether its head's name changed."""
    if not code:
        return None, False
    if len(code) > 20:
        raise FieldRefused("household", "at most 20 characters")
    # a cache holds all the municipality's households (the import's): a miss is a new one
    hh = cache.get(code) if cache is not None else None
    if hh is None and cache is None:
        hh = db.scalar(
            select(models.Household).where(
                models.Household.municipality_code == muni_code, models.Household.code == code
            )
        )
    if hh is None:
        head_name = head_name or new_head
        if not head_name:
            raise FieldRefused("household_head", "required for a new household")
        hh = models.Household(municipality_code=muni_code, code=code, head_name=head_name)
        db.add(hh)
        db.flush()
        changed = False
    else:
        changed = bool(head_name) and hh.head_name != head_name
        if changed:
            assert head_name is not None
            hh.head_name = head_name
    if cache is not None:
        cache[code] = hh
    return hh, changed


def history_values(changes: Mapping[str, Any]) -> dict[str, Any]:
    """What the history keeps of changed fields: the new value (the register's own), dates
    as text, and only the fact of a change for sealed fields."""
    out: dict[str, Any] = {}
    for field, value in changes.items():
        if field in SEALED:
            out[field] = "changed"
        elif isinstance(value, date):
            out[field] = value.isoformat()
        else:
            out[field] = value
    return out


def event(
    resident_id: int,
    kind: str,
    filed: date,
    effective: date | None,
    at: datetime,
    changes: Mapping[str, Any],
) -> dict[str, Any]:
    """A ``resident_events`` row (as a dict, so the import can insert them in bulk)."""
    return {
        "resident_id": resident_id,
        "kind": kind,
        "filed_on": filed,
        "effective_on": effective,
        "recorded_at": at,
        "changes": history_values(changes),
    }


def find(db: DbSession, muni_code: str, code: str) -> models.Resident:
    resident = db.scalar(
        select(models.Resident).where(
            models.Resident.municipality_code == muni_code,
            models.Resident.resident_code == code,
        )
    )
    if resident is None:
        raise FieldRefused("resident", "no such resident in this municipality")
    return resident
