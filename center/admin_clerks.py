"""`kofu center admin clerk add|remove|list`: the clerks the center itself verifies before a
reprint. The PIN hash comes from `kofu kiosk clerk-pin` (the same text goes in kiosk.toml),
read from standard input so it is not in the shell's history or the process list."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker

from center import audit, clerks, models
from center.clock import Clock

COMMANDS = ("clerk",)


def add_commands(sub: Any) -> None:
    c = sub.add_parser("clerk", help="clerks the center verifies before a reprint")
    verbs = c.add_subparsers(dest="clerk_cmd", required=True)
    a = verbs.add_parser(
        "add", help="add or replace a clerk; reads scrypt$N$r$p$salt$hash from stdin"
    )
    a.add_argument("--id", required=True)
    r = verbs.add_parser("remove", help="a removed clerk can no longer sign in or reprint")
    r.add_argument("--id", required=True)
    verbs.add_parser("list", help="ids, whether active, and lockouts (JSON lines)")


def run(
    args: argparse.Namespace,
    sessions: sessionmaker[DbSession],
    clock: Clock,
    operator: str,
    stdin: TextIO = sys.stdin,
) -> int:
    now = clock.now()
    with sessions.begin() as db:
        if args.clerk_cmd == "add":
            clerks.add_or_replace(db, args.id, stdin.readline())
            audit.record(db, now, "admin_clerk_add", actor=operator, reason="clerk:" + args.id)
            print(f"clerk {args.id} added")
        elif args.clerk_cmd == "remove":
            if not clerks.remove(db, args.id):
                print(f"kofu center admin: no clerk {args.id}", file=sys.stderr)
                return 1
            audit.record(db, now, "admin_clerk_remove", actor=operator, reason="clerk:" + args.id)
            print(f"clerk {args.id} removed")
        else:
            for row in db.scalars(select(models.Clerk).order_by(models.Clerk.id)):
                locked = row.locked_until is not None and now < row.locked_until
                print(json.dumps({"id": row.id, "active": row.active, "locked": locked,
                                  "failures": row.failures}))  # fmt: skip
    return 0
