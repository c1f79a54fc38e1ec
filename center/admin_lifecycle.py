"""`kofu center admin kiosk|audit|purge`: kiosk enrollment and status, the audit chain,
and the content retention sweep."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker

from center import audit, kiosk_status, retention
from center.clock import JST, Clock
from center.kiosk_enroll import write_certificate
from center.pki import CenterPki, cert_pem

COMMANDS = ("kiosk", "audit", "purge")
DEFAULT_RETENTION_S = 3600


def operator() -> str:
    """Who ran the command, for the audit line (an operator account, not a citizen)."""
    try:
        return "admin:" + getpass.getuser()[:40]
    except (KeyError, OSError):
        return "admin"


def add_commands(sub: Any) -> None:
    k = sub.add_parser("kiosk", help="enroll, list, suspend, resume or revoke kiosks")
    ks = k.add_subparsers(dest="kiosk_cmd", required=True)
    e = ks.add_parser("enroll", help="sign a kiosk's CSR (`kofu kiosk enroll` makes it)")
    e.add_argument("--csr", type=Path, required=True)
    e.add_argument("--code", required=True, help="the kiosk code; must be the CSR's CN")
    e.add_argument("--location", default="")
    e.add_argument("--out", type=Path, help="write the certificate here (default: stdout)")
    ks.add_parser("list", help="every kiosk and its status (JSON lines)")
    for name, text in (
        ("suspend", "refuse the kiosk's requests until resumed"),
        ("resume", "serve a suspended kiosk again"),
        ("revoke", "refuse the kiosk for good (it cannot be resumed)"),
    ):
        ks.add_parser(name, help=text).add_argument("code")

    a = sub.add_parser("audit", help="the hash-chained audit log")
    as_ = a.add_subparsers(dest="audit_cmd", required=True)
    v = as_.add_parser("verify", help="check the chain; exit 1 at the first bad line")
    v.add_argument("--anchor", help="SEQ:HASH recorded earlier (`audit head`)")
    s = as_.add_parser("show", help="audit lines (JSON lines)")
    s.add_argument("--since", type=datetime.fromisoformat, default=None)
    s.add_argument("--limit", type=int, default=1000)
    as_.add_parser("head", help="the newest line's SEQ:HASH, to record elsewhere")

    p = sub.add_parser("purge", help="blank certificate content past the retention window")
    p.add_argument(
        "--window-s",
        type=int,
        default=DEFAULT_RETENTION_S,
        help="keep content this long after issue or failure (default %(default)s)",
    )


def _anchor(text: str | None) -> tuple[int, str] | None:
    if not text:
        return None
    seq, _, digest = text.partition(":")
    if not seq.isdigit() or len(digest) != 64:
        raise ValueError("--anchor: SEQ:HASH as `audit head` prints it")
    return int(seq), digest.lower()


def run(
    args: argparse.Namespace, sessions: sessionmaker[DbSession], pki: CenterPki, clock: Clock
) -> int:
    if args.cmd == "audit":
        return _audit(args, sessions)
    if args.cmd == "purge":
        n = retention.purge_all(sessions, clock.now(), args.window_s)
        print(json.dumps({"purged": n}))
        return 0
    with sessions.begin() as db:
        if args.kiosk_cmd == "list":
            for row in kiosk_status.listing(db):
                print(json.dumps(row, ensure_ascii=False))
        elif args.kiosk_cmd == "enroll":
            try:
                pem = args.csr.read_bytes()
            except OSError as exc:
                raise ValueError(f"cannot read the CSR: {exc.strerror}") from exc
            cert = kiosk_status.enroll(db, pki, pem, args.code, clock.now(),
                                       args.location, operator())  # fmt: skip
            if args.out:
                write_certificate(args.out, cert)
                print(f"kiosk {args.code} enrolled: {args.out}", file=sys.stderr)
            else:
                sys.stdout.write(cert_pem(cert).decode())
        else:
            change = {"suspend": kiosk_status.suspend, "resume": kiosk_status.resume,
                      "revoke": kiosk_status.revoke}[args.kiosk_cmd]  # fmt: skip
            kiosk = change(db, args.code, clock.now(), operator())
            print(f"kiosk {args.code}: {kiosk.status}")
    return 0


def _audit(args: argparse.Namespace, sessions: sessionmaker[DbSession]) -> int:
    with sessions() as db:
        if args.audit_cmd == "head":
            seq, digest = audit.head(db)
            print(f"{seq}:{digest}")
            return 0
        if args.audit_cmd == "show":
            since = args.since
            if since is not None and since.tzinfo is None:
                since = since.replace(tzinfo=JST)
            for line in audit.lines(db, since, args.limit):
                print(json.dumps(line, ensure_ascii=False))
            return 0
        verdict = audit.verify(db, _anchor(args.anchor))
    if verdict.ok:
        print(f"audit chain ok: {verdict.lines} lines, head {verdict.head_seq}:{verdict.head_hash}")
        return 0
    print(f"audit chain broken at line {verdict.first_bad_seq}: {verdict.problem}"
          f" ({verdict.lines} lines before it verify)")  # fmt: skip
    return 1
