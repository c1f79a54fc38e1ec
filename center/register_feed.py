"""`kofu center admin apply-idou FILE`: a feed of register records (異動, seals, income), as
JSON lines or CSV, applied one by one and reported per line.

Every line has ``kind``, ``municipality``, ``resident`` (the city's stable key), ``filed``
(届出日, YYYY-MM-DD) and optionally ``effective`` (異動日); the other keys are the record's
fields (`center/idou.py` KINDS). A seal's image is ``image`` (a PNG path, relative to the
feed file) or ``image_png_b64``. A refused line changes nothing and the others still apply.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from center.idou import Record
from center.register import FieldRefused

HEAD = ("kind", "municipality", "resident", "filed", "effective", "image", "image_png_b64")


@dataclass(frozen=True)
class Line:
    number: int  # 1-based (CSV: the header is line 0)
    record: Record | None
    refused: FieldRefused | None = None


def _day(raw: dict[str, Any], name: str, required: bool) -> date | None:
    text = str(raw.get(name) or "").strip()
    if not text:
        if required:
            raise FieldRefused(name, "required")
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FieldRefused(name, "a date YYYY-MM-DD") from None


def _image(raw: dict[str, Any], base: Path) -> bytes | None:
    if raw.get("image_png_b64"):
        try:
            return base64.b64decode(str(raw["image_png_b64"]), validate=True)
        except (binascii.Error, ValueError):
            raise FieldRefused("image_png_b64", "base64") from None
    if raw.get("image"):
        try:
            return (base / str(raw["image"])).read_bytes()
        except OSError:
            raise FieldRefused("image", "a readable file next to the feed") from None
    return None


def record_of(raw: dict[str, Any], base: Path) -> Record:
    values = {
        str(k): "" if v is None else str(v)
        for k, v in raw.items()
        if k not in HEAD and not isinstance(v, (dict, list))
    }
    nested = sorted(str(k) for k, v in raw.items() if isinstance(v, (dict, list)))
    if nested:
        raise FieldRefused(nested[0], "a plain value")
    filed = _day(raw, "filed", True)
    assert filed is not None
    return Record(
        kind=str(raw.get("kind") or "").strip(),
        municipality=str(raw.get("municipality") or "").strip(),
        resident=str(raw.get("resident") or ""),
        filed=filed,
        effective=_day(raw, "effective", False),
        values=values,
        image_png=_image(raw, base),
    )


def read(text: str, base: Path) -> Iterator[Line]:
    """The feed's records in order: JSON lines if its first non-blank character is ``{``,
    else CSV with a header row."""
    if text.lstrip().startswith("{"):
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                if not isinstance(raw, dict):
                    raise FieldRefused("line", "a JSON object")
                yield Line(n, record_of(raw, base))
            except json.JSONDecodeError:
                yield Line(n, None, FieldRefused("line", "not JSON"))
            except FieldRefused as exc:
                yield Line(n, None, exc)
        return
    reader = csv.DictReader(io.StringIO(text))
    if not {"kind", "municipality", "resident", "filed"} <= set(reader.fieldnames or ()):
        raise ValueError("feed: JSON lines, or CSV with kind,municipality,resident,filed columns")
    for n, row in enumerate(reader, start=1):
        try:
            yield Line(n, record_of({k: v for k, v in row.items() if v}, base))
        except FieldRefused as exc:
            yield Line(n, None, exc)
