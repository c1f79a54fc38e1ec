"""`kofu center admin idou|seal|income|apply-idou`: keeping the resident register current.

Each record names the resident by the municipality and its stable key (``--resident``, the
住民票コード or the city's own) and carries its 届出日 (``--filed``). One audit line per
applied record, ids and codes only (the kind and the resident's row id); the register's
history (``resident_events``) keeps what changed.
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker

from center import audit, idou, register_feed
from center.clock import Clock
from center.idou import KINDS, Record
from center.register import FieldRefused

COMMANDS = ("idou", "seal", "income", "apply-idou")
IDOU_KINDS = tuple(k for k in KINDS if not k.startswith(("seal-", "income-")))


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _who(p: argparse.ArgumentParser) -> None:
    p.add_argument("--municipality", required=True)
    p.add_argument("--resident", required=True, help="住民票コード or the city's own key")
    p.add_argument("--filed", type=date.fromisoformat, required=True, help="届出日 YYYY-MM-DD")
    p.add_argument("--effective", type=date.fromisoformat, default=None,
                   help="異動日 (default: the 届出日)")  # fmt: skip


def add_commands(sub: Any) -> None:
    i = sub.add_parser("idou", help="record one 異動 (see docs/center.md)")
    i.add_argument("kind", choices=IDOU_KINDS)
    _who(i)
    fields = sorted({f for k in IDOU_KINDS for f in KINDS[k].allowed})
    for name in fields:
        i.add_argument(_flag(name), dest="f_" + name, default=None)

    s = sub.add_parser("seal", help="印鑑登録: register (with a PNG image), replace, abolish")
    s.add_argument("action", choices=("register", "replace", "abolish"))
    _who(s)
    s.add_argument("--number", dest="f_registration_number", default=None)
    s.add_argument("--image", type=Path, default=None, help="the seal's impression, PNG")

    n = sub.add_parser("income", help="所得・課税 of one fiscal year: add or replace")
    n.add_argument("action", choices=("add", "replace"))
    _who(n)
    for name in ("fiscal_year", *idou.INCOME):
        n.add_argument(_flag(name), dest="f_" + name, default=None)

    f = sub.add_parser("apply-idou", help="a feed of records (JSON lines or CSV)")
    f.add_argument("feed", type=Path)


def _record(args: argparse.Namespace) -> Record:
    kind = {"seal": "seal-", "income": "income-"}.get(args.cmd)
    image = None
    if args.cmd == "seal" and args.image is not None:
        try:
            image = args.image.read_bytes()
        except OSError:
            raise FieldRefused("image", "a readable PNG file") from None
    values = {k[2:]: v for k, v in vars(args).items() if k.startswith("f_") and v is not None}
    return Record(
        kind=kind + args.action if kind else args.kind,
        municipality=args.municipality,
        resident=args.resident,
        filed=args.filed,
        effective=args.effective,
        values=values,
        image_png=image,
    )


def _apply(db: DbSession, rec: Record, clock: Clock, action: str, operator: str) -> list[str]:
    rid, changed = idou.apply(db, rec, clock.today(), clock.now())
    audit.record(db, clock.now(), action, actor=operator, reason=f"{rec.kind}:r{rid}")
    return changed


def run(
    args: argparse.Namespace, sessions: sessionmaker[DbSession], clock: Clock, operator: str
) -> int:
    if args.cmd == "apply-idou":
        return _feed(args.feed, sessions, clock, operator)
    try:
        rec = _record(args)
        with sessions.begin() as db:
            changed = _apply(db, rec, clock, "admin_" + args.cmd.replace("-", "_"), operator)
    except FieldRefused as exc:
        print(json.dumps({"status": "refused", "field": exc.field, "reason": exc.reason},
                         ensure_ascii=False))  # fmt: skip
        return 1
    print(json.dumps({"status": "applied", "kind": rec.kind, "changed": changed}))
    return 0


def _feed(path: Path, sessions: sessionmaker[DbSession], clock: Clock, operator: str) -> int:
    """Each line in its own savepoint of one transaction: a refused line changes nothing,
    the others are applied together."""
    text = path.read_text(encoding="utf-8")
    counts = {"applied": 0, "refused": 0}
    with sessions.begin() as db:
        for line in register_feed.read(text, path.parent):
            out: dict[str, Any] = {"line": line.number}
            try:
                if line.record is None:
                    assert line.refused is not None
                    raise line.refused
                out["kind"] = line.record.kind
                out["changed"] = _apply(db, line.record, clock, "admin_apply_idou", operator)
                out["status"] = "applied"
            except FieldRefused as exc:
                out.update(status="refused", field=exc.field, reason=exc.reason)
            counts[out["status"]] += 1
            print(json.dumps(out, ensure_ascii=False))
    print(json.dumps({"lines": sum(counts.values()), **counts}))
    return 0 if counts["refused"] == 0 else 1
