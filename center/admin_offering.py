"""`kofu center admin apply offering.toml` and `kofu center admin offering show`: a city's
offering (types, fees, hours, 住民票 items, copies, fiscal years, maintenance notices) from
the file it keeps in version control (`center/offering_file.py`, `docs/center.md`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker

from center import audit, offering
from center.clock import Clock
from center.offering_file import OfferingError, parse, render

COMMANDS = ("apply", "offering")


def add_commands(sub: Any) -> None:
    a = sub.add_parser("apply", help="make a municipality's offering what offering.toml says")
    a.add_argument("files", type=Path, nargs="+", metavar="offering.toml")
    a.add_argument("--dry-run", action="store_true", help="validate and show, change nothing")
    o = sub.add_parser("offering", help="a municipality's offering")
    verbs = o.add_subparsers(dest="offering_cmd", required=True)
    s = verbs.add_parser("show", help="print it in offering.toml's format")
    s.add_argument("--municipality", required=True)


def run(
    args: argparse.Namespace, sessions: sessionmaker[DbSession], clock: Clock, operator: str
) -> int:
    if args.cmd == "offering":
        with sessions() as db:
            try:
                sys.stdout.write(render(offering.load(db, args.municipality)))
            except ValueError as exc:
                print(f"kofu center admin: {exc}", file=sys.stderr)
                return 1
        return 0
    try:
        # every file is checked before anything is written
        wanted = [parse(f.read_text(encoding="utf-8"), str(f)) for f in args.files]
    except (OfferingError, OSError, UnicodeDecodeError) as exc:
        print(f"kofu center admin: {exc}", file=sys.stderr)
        return 1
    with sessions() as db:
        try:
            for f, o in zip(args.files, wanted, strict=True):
                try:
                    changes = offering.apply(db, o)
                except ValueError as exc:
                    raise ValueError(f"{f}: [municipality] code: {exc}") from None
                for line in changes:
                    print(line)
                if not changes:
                    print(f"{o.code}: no change")
                elif not args.dry_run:
                    audit.record(db, clock.now(), "admin_apply_offering", actor=operator,
                                 reason=f"offering:{o.code}")  # fmt: skip
        except ValueError as exc:
            db.rollback()
            print(f"kofu center admin: {exc}", file=sys.stderr)
            return 1
        if args.dry_run:
            db.rollback()
            print("dry run: nothing written")
        else:
            db.commit()
    return 0
