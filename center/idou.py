"""異動 and the other records a city keeps current: births, move-ins, moves, move-outs,
deaths, support measures, 外字, name changes, seal registrations and income/tax records.

Each record names the resident by the city's stable key, carries its 届出日 (``filed``)
and, where the law has one, its 異動日 (``effective``), and is applied the same way from an
admin command or a feed line (`center/register_feed.py`): it changes the resident's current
state, which is all the rules read, and leaves one ``resident_events`` row. A record that
does not fit raises :class:`FieldRefused` naming the field and the reason.
"""

from __future__ import annotations

import io
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from PIL import Image, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from center import models, register
from center.atrest import session_keystore
from center.register import FieldRefused

PERSON = ("name", "kana", "birth_date", "sex", "address")
# the optional facts a new resident's record may carry
PERSON_EXTRA = (
    "alias", "relationship", "previous_address", "my_number", "honseki", "hittosha",
    "nationality", "residence_card_number", "article_30_45", "residence_status",
    "period_of_stay", "stay_expiry", "household", "household_head", "former_surname",
)  # fmt: skip
INCOME = (
    "total_income", "salary_income", "other_income", "deductions", "dependents",
    "municipal_tax", "prefectural_tax",
)  # fmt: skip
SEAL_NUMBER = re.compile(r"[0-9A-Za-z-]{1,20}")
SEAL_IMAGE_MAX = 1_000_000  # bytes


@dataclass(frozen=True)
class Record:
    kind: str
    municipality: str
    resident: str  # the city's stable key (resident_code)
    filed: date  # 届出日
    effective: date | None = None  # 異動日 (default: the 届出日)
    values: Mapping[str, str] = field(default_factory=dict)
    image_png: bytes | None = None  # seal-register / seal-replace


@dataclass(frozen=True)
class Kind:
    summary: str
    allowed: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    needs_image: bool = False


KINDS: dict[str, Kind] = {
    "birth": Kind("出生: a new resident born on the 異動日", (*PERSON, *PERSON_EXTRA),
                  ("name", "kana", "sex", "address")),
    "move-in": Kind("転入: a new resident (or one who had moved out) from the 異動日; the "
                    "kiosk refuses them on the 届出日", (*PERSON, *PERSON_EXTRA), PERSON),
    "move-within": Kind("転居: a new address in the city from the 異動日",
                        ("address", "household", "household_head", "relationship"),
                        ("address",)),
    "move-out-filed": Kind("転出届: moving out on the 異動日 (転出予定日)"),
    "move-out": Kind("転出: moved out"),
    "death": Kind("死亡"),
    "support-start": Kind("支援措置 starts"),
    "support-end": Kind("支援措置 ends"),
    "gaiji-pending": Kind("外字 being registered: the kiosk cannot print the name yet"),
    "gaiji-done": Kind("外字 registered (optionally with the name as now written)",
                       ("name", "kana")),
    "name-change": Kind("氏名の変更, optionally with the 旧氏",
                        ("name", "kana", "alias", "former_surname"), ("name",)),
    "seal-register": Kind("印鑑登録 with its image (PNG)", ("registration_number",),
                          ("registration_number",), needs_image=True),
    "seal-replace": Kind("印鑑登録 replaced (a new number and image)",
                         ("registration_number",), ("registration_number",), needs_image=True),
    "seal-abolish": Kind("印鑑登録 abolished"),
    "income-add": Kind("所得・課税 of one fiscal year", ("fiscal_year", *INCOME),
                       ("fiscal_year", "total_income")),
    "income-replace": Kind("所得・課税 of one fiscal year, corrected", ("fiscal_year", *INCOME),
                           ("fiscal_year", "total_income")),
}  # fmt: skip


def apply(db: DbSession, rec: Record, today: date, now: datetime) -> tuple[int, list[str]]:
    """Apply one record in the caller's transaction: (the resident's row id, the names of
    what changed). Raises FieldRefused, having changed nothing."""
    kind = KINDS.get(rec.kind)
    if kind is None:
        raise FieldRefused("kind", "one of " + ", ".join(KINDS))
    code = register.resident_code(rec.resident)
    values = {k: v.strip() for k, v in rec.values.items() if v is not None and v.strip()}
    extra = sorted(set(values) - set(kind.allowed))
    if extra:
        raise FieldRefused(extra[0], f"not part of a {rec.kind} record")
    for name in kind.required:
        if name not in values:
            raise FieldRefused(name, "required")
    if kind.needs_image and rec.image_png is None:
        raise FieldRefused("image", "required (PNG)")
    if rec.effective is not None and rec.effective > rec.filed and rec.kind != "move-out-filed":
        raise FieldRefused("effective", "after the 届出日")
    if db.get(models.Municipality, rec.municipality) is None:
        raise FieldRefused("municipality", "unknown")
    effective = rec.effective or rec.filed
    with db.begin_nested():  # a refusal below leaves nothing behind
        if rec.kind in ("birth", "move-in"):
            resident, changes = _arrive(db, rec, code, values, effective)
        else:
            resident = register.find(db, rec.municipality, code)
            changes = _HANDLERS[rec.kind](db, resident, values, rec, effective)
        if rec.kind not in _NOT_PERSON:
            resident.data_as_of = today
        db.flush()
        db.add(
            models.ResidentEvent(
                **register.event(resident.id, rec.kind, rec.filed, rec.effective, now, changes)
            )
        )
    return resident.id, sorted(changes)


_NOT_PERSON = ("seal-register", "seal-replace", "seal-abolish", "income-add", "income-replace")


def _arrive(
    db: DbSession, rec: Record, code: str, values: dict[str, str], effective: date
) -> tuple[models.Resident, dict[str, Any]]:
    """A birth or move-in: a new resident, or a move-in of one who had moved out."""
    if rec.kind == "birth":
        values = {**values, "birth_date": values.get("birth_date") or effective.isoformat()}
    fields = register.parse_all(values, [f for f in register.FIELDS if f in values or
                                         f in register.REQUIRED])  # fmt: skip
    hh, _ = register.household(
        db, rec.municipality, values.get("household"), values.get("household_head"),
        new_head=fields["name"],
    )  # fmt: skip
    fields = {k: v for k, v in fields.items() if v is not None}
    moved = {
        "moved_in": effective,
        "resident_since": effective,
        # the 転入届's 届出日: the kiosk serves them from the next day (SPEC §3)
        "move_in_filed": rec.filed if rec.kind == "move-in" else None,
    }
    try:
        resident = register.find(db, rec.municipality, code)
    except FieldRefused:
        resident = None
    if "my_number" in fields:
        index = session_keystore(db).index(fields["my_number"])
        other = db.scalar(
            select(models.Resident.id).where(models.Resident.my_number_index == index)
        )
        if other is not None and (resident is None or other != resident.id):
            raise FieldRefused("my_number", "the My Number of another resident")
    if resident is not None:
        if not (rec.kind == "move-in" and resident.moved_out):
            raise FieldRefused("resident", "already registered")
        for name, value in {**fields, **moved}.items():
            setattr(resident, name, value)
        resident.moved_out = resident.move_out_filed = False
        resident.household_id = hh.id if hh else None
        return resident, {**fields, **moved}
    resident = models.Resident(
        uid=secrets.token_hex(8),
        municipality_code=rec.municipality,
        resident_code=code,
        household_id=hh.id if hh else None,
        registered=True,
        moved_out=False,
        move_out_filed=False,
        support_measures=False,
        deceased=False,
        gaiji_pending=False,
        data_as_of=effective,
        **{**fields, **moved},
    )
    db.add(resident)
    return resident, {**fields, **moved}


def _flag(name: str, value: bool) -> Callable[..., dict[str, Any]]:
    def set_flag(
        db: DbSession, r: models.Resident, values: dict[str, str], rec: Record, eff: date
    ) -> dict[str, Any]:
        if r.deceased and rec.kind != "support-end":
            raise FieldRefused("resident", "deceased")
        if getattr(r, name) == value:
            raise FieldRefused(name, "already " + ("set" if value else "clear"))
        setattr(r, name, value)
        return {name: value}

    return set_flag


def _move_out(
    db: DbSession, r: models.Resident, values: dict[str, str], rec: Record, eff: date
) -> dict[str, Any]:
    if r.moved_out or r.deceased:
        raise FieldRefused("resident", "moved out or deceased")
    r.moved_out, r.move_out_filed = True, False
    return {"moved_out": True, "move_out_filed": False}


def _move_within(
    db: DbSession, r: models.Resident, values: dict[str, str], rec: Record, eff: date
) -> dict[str, Any]:
    if r.moved_out or r.deceased:
        raise FieldRefused("resident", "moved out or deceased")
    changes: dict[str, Any] = {"address": register.parse("address", values["address"]),
                               "moved_in": eff}  # fmt: skip
    if "relationship" in values:
        changes["relationship"] = register.parse("relationship", values["relationship"])
    if "household" in values:
        hh, _ = register.household(
            db, r.municipality_code, values["household"], values.get("household_head"),
            new_head=r.name,
        )  # fmt: skip
        assert hh is not None
        r.household_id = hh.id
        changes["household"] = hh.code
    for name, value in changes.items():
        if name != "household":
            setattr(r, name, value)
    return changes


def _rename(
    db: DbSession, r: models.Resident, values: dict[str, str], rec: Record, eff: date
) -> dict[str, Any]:
    if rec.kind == "gaiji-done":
        if not r.gaiji_pending:
            raise FieldRefused("gaiji_pending", "already clear")
        r.gaiji_pending = False
    changes = {name: register.parse(name, text) for name, text in values.items()}
    for name, value in changes.items():
        setattr(r, name, value)
    return {**changes, **({"gaiji_pending": False} if rec.kind == "gaiji-done" else {})}


def _seal(
    db: DbSession, r: models.Resident, values: dict[str, str], rec: Record, eff: date
) -> dict[str, Any]:
    current = db.get(models.SealRegistration, r.id)
    if rec.kind == "seal-abolish":
        if current is None:
            raise FieldRefused("seal", "none registered")
        db.delete(current)
        return {"seal": "abolished", "registration_number": current.registration_number}
    if rec.kind == "seal-register" and current is not None:
        raise FieldRefused("seal", "already registered (seal-replace)")
    if rec.kind == "seal-replace" and current is None:
        raise FieldRefused("seal", "none registered (seal-register)")
    number = values["registration_number"]
    if not SEAL_NUMBER.fullmatch(number):
        raise FieldRefused("registration_number", "1-20 letters, digits, -")
    image = check_png(rec.image_png or b"")
    if current is None:
        db.add(models.SealRegistration(resident_id=r.id, registration_number=number,
                                       image_png=image, registered_on=eff))  # fmt: skip
    else:
        current.registration_number, current.image_png, current.registered_on = number, image, eff
    return {"registration_number": number}


def check_png(data: bytes) -> bytes:
    if len(data) > SEAL_IMAGE_MAX:
        raise FieldRefused("image", f"at most {SEAL_IMAGE_MAX} bytes")
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format != "PNG":
                raise FieldRefused("image", "a PNG image")
            img.verify()
    except (UnidentifiedImageError, OSError, SyntaxError):
        raise FieldRefused("image", "a PNG image") from None
    return data


def _int(values: Mapping[str, str], name: str, low: int, high: int) -> int:
    try:
        value = int(values.get(name) or "0")
    except ValueError:
        raise FieldRefused(name, "a whole number (yen)") from None
    if not low <= value <= high:
        raise FieldRefused(name, f"between {low} and {high}")
    return value


def _income(
    db: DbSession, r: models.Resident, values: dict[str, str], rec: Record, eff: date
) -> dict[str, Any]:
    year = _int(values, "fiscal_year", 1989, 2200)
    amounts = {
        name: _int(values, name, -(10**11) if name == "total_income" else 0, 10**11)
        for name in INCOME
    }
    amounts["dependents"] = _int(values, "dependents", 0, 99)
    current = db.get(models.IncomeRecord, (r.id, year))
    if rec.kind == "income-add" and current is not None:
        raise FieldRefused("fiscal_year", "already recorded (income-replace)")
    if rec.kind == "income-replace" and current is None:
        raise FieldRefused("fiscal_year", "not recorded (income-add)")
    if current is None:
        db.add(models.IncomeRecord(resident_id=r.id, fiscal_year=year, **amounts))
    else:
        for name, value in amounts.items():
            setattr(current, name, value)
    return {"fiscal_year": year, **amounts}


_HANDLERS: dict[str, Callable[..., dict[str, Any]]] = {
    "move-within": _move_within,
    "move-out-filed": _flag("move_out_filed", True),
    "move-out": _move_out,
    "death": _flag("deceased", True),
    "support-start": _flag("support_measures", True),
    "support-end": _flag("support_measures", False),
    "gaiji-pending": _flag("gaiji_pending", True),
    "gaiji-done": _rename,
    "name-change": _rename,
    "seal-register": _seal,
    "seal-replace": _seal,
    "seal-abolish": _seal,
    "income-add": _income,
    "income-replace": _income,
}
