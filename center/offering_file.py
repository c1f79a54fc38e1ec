"""``offering.toml``: a municipality's offering as a file it keeps in version control
(format in `docs/center.md`). :func:`parse` validates it whole and names the file, the table
and the key of the first thing wrong; :func:`render` writes the same format back (what
`kofu center admin offering show` prints), so a shown offering can be applied as it is.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from center.clock import JST
from center.offering import (
    COPIES_LIMIT,
    DEFAULT_CLOSES,
    DEFAULT_MAX_COPIES,
    DEFAULT_OPENS,
    INCOME_TYPES,
    MunicipalityOffering,
    Notice,
    TypeOffering,
)
from documents.model import CertificateType, JuminhyoOption

MAX_FEE = 10_000  # yen per copy: a typo guard, far above any certificate fee
MAX_FISCAL_YEARS = 10
NOTICE_CHARS = 120
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")
_MMDD = re.compile(r"^(\d\d)-(\d\d)$")

_MUNI_KEYS = {"code", "opens", "closes", "weekdays_only", "max_copies"}
_TYPE_KEYS = {"offered", "kiosk_fee", "counter_fee", "opens", "closes", "weekdays_only",
              "max_copies", "kiosk_options", "fiscal_years"}  # fmt: skip
_WINDOW_KEYS = {"yearly", "from", "to", "notice_ja", "notice_en"}


class OfferingError(ValueError):
    """What is wrong, where: ``FILE: [TABLE] KEY: message``."""

    def __init__(self, source: str, table: str, key: str, message: str) -> None:
        where = (f"[{table}]" if table else "") + (f" {key}" if key else "")
        super().__init__(f"{source}: {where + ': ' if where else ''}{message}")
        self.source, self.table, self.key = source, table, key


class _Where:
    def __init__(self, source: str, table: str) -> None:
        self.source, self.table = source, table

    def error(self, key: str, message: str) -> OfferingError:
        return OfferingError(self.source, self.table, key, message)

    def unknown(self, raw: dict[str, Any], known: set[str]) -> None:
        for key in raw:
            if key not in known:
                raise self.error(key, f"unknown key (known: {', '.join(sorted(known))})")

    def integer(self, raw: dict[str, Any], key: str, low: int, high: int) -> int:
        v = raw[key]
        if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
            raise self.error(key, f"an integer from {low} to {high}, not {v!r}")
        return v

    def flag(self, raw: dict[str, Any], key: str) -> bool:
        v = raw[key]
        if not isinstance(v, bool):
            raise self.error(key, f"true or false, not {v!r}")
        return v

    def hours(self, raw: dict[str, Any], key: str) -> str:
        v = raw[key]
        if not isinstance(v, str) or not _HHMM.match(v):
            raise self.error(key, f'a time "HH:MM" (Japan time, 00:00 to 24:00), not {v!r}')
        return v

    def text(self, raw: dict[str, Any], key: str) -> str:
        v = raw.get(key, "")
        if not isinstance(v, str) or len(v) > NOTICE_CHARS or "\n" in v:
            raise self.error(key, f"one line of at most {NOTICE_CHARS} characters")
        return v


def _span(where: _Where, opens: str, closes: str) -> None:
    if opens >= closes:
        raise where.error("closes", f"must be after opens ({opens} - {closes})")


@dataclass(frozen=True)
class _Defaults:
    """``[municipality]``'s values every type takes unless it says otherwise."""

    opens: str
    closes: str
    weekdays_only: bool
    max_copies: int


def _type(where: _Where, kind: CertificateType, raw: Any, muni: _Defaults) -> TypeOffering:
    if not isinstance(raw, dict):
        raise where.error("", "must be a table")
    where.unknown(raw, _TYPE_KEYS)
    offered = where.flag(raw, "offered") if "offered" in raw else True
    fees = {}
    for key in ("kiosk_fee", "counter_fee"):
        if key in raw:
            fees[key] = where.integer(raw, key, 0, MAX_FEE)
        elif offered:
            raise where.error(key, "missing (yen per copy; required when offered)")
        else:
            fees[key] = 0
    if offered and fees["kiosk_fee"] == 0:
        raise where.error("kiosk_fee", "must be more than 0: the kiosk never waives a fee")
    opens = where.hours(raw, "opens") if "opens" in raw else muni.opens
    closes = where.hours(raw, "closes") if "closes" in raw else muni.closes
    _span(where, opens, closes)
    options: frozenset[JuminhyoOption] = frozenset()
    if "kiosk_options" in raw:
        if kind is not CertificateType.JUMINHYO:
            raise where.error("kiosk_options", "only the 住民票 (juminhyo) has items to choose")
        values = raw["kiosk_options"]
        if not isinstance(values, list):
            raise where.error("kiosk_options", "a list of item names")
        known = {str(o) for o in JuminhyoOption}
        for v in values:
            if v not in known:
                raise where.error(
                    "kiosk_options", f"unknown item {v!r} (known: {', '.join(sorted(known))})"
                )
        options = frozenset(JuminhyoOption(v) for v in values)
    elif kind is CertificateType.JUMINHYO:
        options = frozenset(JuminhyoOption)
    years = None
    if "fiscal_years" in raw:
        if kind not in INCOME_TYPES:
            raise where.error("fiscal_years", "only 所得 / 所得課税 (shotoku, shotoku_kazei)")
        years = where.integer(raw, "fiscal_years", 1, MAX_FISCAL_YEARS)
    return TypeOffering(
        kind=kind,
        offered=offered,
        kiosk_fee=fees["kiosk_fee"],
        counter_fee=fees["counter_fee"],
        opens=opens,
        closes=closes,
        weekdays_only=(
            where.flag(raw, "weekdays_only") if "weekdays_only" in raw else muni.weekdays_only
        ),
        kiosk_options=options,
        max_copies=(
            where.integer(raw, "max_copies", 1, COPIES_LIMIT)
            if "max_copies" in raw
            else muni.max_copies
        ),
        fiscal_years=years,
    )


def _instant(where: _Where, raw: dict[str, Any], key: str) -> datetime:
    v = raw[key]
    if not isinstance(v, datetime):
        raise where.error(key, f"a date and time (2027-03-01T01:00:00+09:00), not {v!r}")
    return v if v.tzinfo else v.replace(tzinfo=JST)  # no offset: Japan time


def _window(where: _Where, raw: Any) -> Notice:
    if not isinstance(raw, dict):
        raise where.error("", "must be a table")
    where.unknown(raw, _WINDOW_KEYS)
    texts = {k: where.text(raw, k) for k in ("notice_ja", "notice_en")}
    if "yearly" in raw:
        if "from" in raw or "to" in raw:
            raise where.error("yearly", "either yearly or from/to, not both")
        v = raw["yearly"]
        parts = v.split("/") if isinstance(v, str) else []
        for p in parts:
            m = _MMDD.match(p)
            try:
                ok = m is not None and bool(date(2024, int(m.group(1)), int(m.group(2))))
            except ValueError:
                ok = False
            if not ok:
                break
        else:
            if len(parts) == 2:
                return Notice(
                    parts[0], parts[1], None, None, texts["notice_ja"], texts["notice_en"]
                )
        raise where.error("yearly", f'first and last day "MM-DD/MM-DD", not {v!r}')
    for key in ("from", "to"):
        if key not in raw:
            raise where.error(key, "missing (or give yearly)")
    start, end = _instant(where, raw, "from"), _instant(where, raw, "to")
    if end <= start:
        raise where.error("to", "must be after from")
    return Notice(None, None, start, end, texts["notice_ja"], texts["notice_en"])


def parse(text: str, source: str) -> MunicipalityOffering:
    """The offering a file states, or :class:`OfferingError` naming what is wrong."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise OfferingError(source, "", "", f"not TOML: {exc}") from None
    tables = ["municipality", *(str(k) for k in CertificateType), "maintenance"]
    for name in raw:
        if name not in tables:
            raise OfferingError(source, name, "", f"unknown table (known: {', '.join(tables)})")
    if "municipality" not in raw or not isinstance(raw["municipality"], dict):
        raise OfferingError(source, "municipality", "", 'missing (code = "6 digits")')
    where = _Where(source, "municipality")
    m = raw["municipality"]
    where.unknown(m, _MUNI_KEYS)
    code = m.get("code")
    if not isinstance(code, str) or not (len(code) == 6 and code.isdigit()):
        raise where.error("code", f"the 6-digit 全国地方公共団体コード, not {code!r}")
    defaults = _Defaults(
        where.hours(m, "opens") if "opens" in m else DEFAULT_OPENS,
        where.hours(m, "closes") if "closes" in m else DEFAULT_CLOSES,
        where.flag(m, "weekdays_only") if "weekdays_only" in m else False,
        where.integer(m, "max_copies", 1, COPIES_LIMIT)
        if "max_copies" in m
        else DEFAULT_MAX_COPIES,
    )
    _span(where, defaults.opens, defaults.closes)
    types = []
    for kind in CertificateType:
        if str(kind) not in raw:
            raise OfferingError(
                source, str(kind), "", "missing: list every type (offered = false for none)"
            )
        types.append(_type(_Where(source, str(kind)), kind, raw[str(kind)], defaults))
    maintenance = None
    if "maintenance" in raw:
        windows = raw["maintenance"]
        if not isinstance(windows, list):
            raise OfferingError(source, "maintenance", "", "an array of tables [[maintenance]]")
        maintenance = tuple(
            _window(_Where(source, f"maintenance #{i}"), w) for i, w in enumerate(windows, 1)
        )
    return MunicipalityOffering(
        code, tuple(types), defaults.opens, defaults.closes, maintenance, source
    )


def _value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, datetime):
        return v.astimezone(JST).isoformat()
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(offering: MunicipalityOffering) -> str:
    """The offering in the file's format, every key written out."""
    # no windows at all is said out loud (a file without the key leaves them as they are)
    out = ["maintenance = []", ""] if offering.maintenance == () else []
    out += ["[municipality]", f"code = {_value(offering.code)}",
           f"opens = {_value(offering.opens)}", f"closes = {_value(offering.closes)}"]  # fmt: skip
    for t in offering.types:
        out += ["", f"[{t.kind}]  # {t.kind.title_ja}", f"offered = {_value(t.offered)}"]
        out += [f"kiosk_fee = {t.kiosk_fee}", f"counter_fee = {t.counter_fee}"]
        out += [f"opens = {_value(t.opens)}", f"closes = {_value(t.closes)}"]
        out += [f"weekdays_only = {_value(t.weekdays_only)}", f"max_copies = {t.max_copies}"]
        if t.kind is CertificateType.JUMINHYO:
            out.append(f"kiosk_options = {_value(sorted(str(o) for o in t.kiosk_options))}")
        if t.kind in INCOME_TYPES and t.fiscal_years is not None:
            out.append(f"fiscal_years = {t.fiscal_years}")
    for n in offering.maintenance or ():
        out += ["", "[[maintenance]]"]
        if n.yearly_from and n.yearly_to:
            out.append(f"yearly = {_value(n.yearly_from + '/' + n.yearly_to)}")
        else:
            out += [f"from = {_value(n.starts_at)}", f"to = {_value(n.ends_at)}"]
        out += [f"notice_ja = {_value(n.notice_ja)}", f"notice_en = {_value(n.notice_en)}"]
    return "\n".join(out) + "\n"
