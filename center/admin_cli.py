"""`kofu center admin <command>`: operators' commands on a center's database and state."""

from __future__ import annotations

import argparse
import base64
import json
import sys
from datetime import date, datetime
from pathlib import Path

from cryptography import x509
from sqlalchemy import select

from center import (
    admin_clerks,
    admin_lifecycle,
    admin_offering,
    admin_ops,
    admin_register,
    audit,
    models,
    register_import,
    token_setup,
)
from center.atrest import attach, session_keystore
from center.cli import DEFAULT_STATE
from center.clock import JST, Clock
from center.config import default_db_url
from center.db import make_engine, migrate, session_factory
from center.demo import RESIDENTS
from center.offering_file import NOTICE_CHARS
from center.pki import CenterPki
from center.private_files import private_umask, tighten

# commands that change the database: one audit line each (in the same transaction)
AUDITED = ("create-municipality", "import-residents", "register-kiosk", "register-card",
           "revoke-card", "maintenance")  # fmt: skip


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="kofu center admin")
    p.add_argument("--state", default=DEFAULT_STATE)
    p.add_argument("--db", default=None)
    token_setup.add_flags(p)
    sub = p.add_subparsers(dest="cmd", required=True)

    sub.add_parser("init", help="create TLS material and the schema (no demo data)")

    m = sub.add_parser("create-municipality")
    m.add_argument("--code", required=True)
    m.add_argument("--name", required=True)
    m.add_argument("--mayor-title", required=True)
    m.add_argument("--mayor-name", required=True)
    m.add_argument("--kiosk-fee", type=int, required=True)
    m.add_argument("--counter-fee", type=int, required=True)
    m.add_argument("--seal", type=Path, help="PNG of the official seal (default: drawn)")

    r = sub.add_parser(
        "import-residents", help="CSV with a header row, upserted by resident_code"
    )
    r.add_argument("--municipality", required=True)
    r.add_argument("csv", type=Path)

    k = sub.add_parser(
        "register-kiosk",
        help="demo/test: make a kiosk key here and enroll it (real kiosks: `kiosk enroll`)",
    )
    k.add_argument("code")
    k.add_argument("--location", default="")

    c = sub.add_parser("register-card", help="map a card certificate (PEM) to a resident")
    c.add_argument("certificate", type=Path)
    who = c.add_mutually_exclusive_group(required=True)
    who.add_argument("--my-number", help="the resident's My Number")
    who.add_argument("--demo-resident", help="a demo resident's label (e.g. taro), for the sim")
    c.add_argument("--issued-on", type=date.fromisoformat, default=None)

    v = sub.add_parser("revoke-card", help="revoke a card certificate at this center")
    v.add_argument("certificate", type=Path)
    v.add_argument("--reason", default="")

    g = sub.add_parser("ledger", help="daily ledger CSV for one municipality")
    g.add_argument("--municipality", required=True)
    g.add_argument("--date", type=date.fromisoformat, default=None)

    w = sub.add_parser("maintenance", help="close a municipality's kiosk service for a while")
    w.add_argument("--municipality", required=True)
    w.add_argument("--from", dest="start", type=datetime.fromisoformat, required=True)
    w.add_argument("--to", dest="end", type=datetime.fromisoformat, required=True)
    w.add_argument("--note", default="", help="for the operators")
    w.add_argument("--notice-ja", default="", help="what the citizen is told (Japanese)")
    w.add_argument("--notice-en", default="", help="what the citizen is told (English)")

    sub.add_parser("public-keys", help="municipality signing public keys (JSON)")
    sub.add_parser("kiosk-health", help="each kiosk's latest health report (JSON lines)")
    admin_lifecycle.add_commands(sub)
    admin_clerks.add_commands(sub)
    admin_register.add_commands(sub)
    admin_offering.add_commands(sub)

    args = p.parse_args(argv)
    state = Path(args.state).resolve()
    pki = CenterPki(state)
    clock = Clock.of_state(state)  # the running center's: "today" is the day it writes
    private_umask()
    tighten(state)
    pki.ensure()
    token = token_setup.settings_for(
        state, args.pkcs11_module, args.pkcs11_token, args.pkcs11_pin_file
    )
    engine = attach(
        make_engine(args.db or default_db_url(state)),
        token_setup.prepare_keystore(token, state),
    )
    migrate(engine)
    sessions = session_factory(engine)
    try:
        if args.cmd in admin_lifecycle.COMMANDS:
            return admin_lifecycle.run(args, sessions, pki, clock)
        if args.cmd in admin_clerks.COMMANDS:
            return admin_clerks.run(args, sessions, clock, admin_lifecycle.operator())
        if args.cmd in admin_register.COMMANDS:
            return admin_register.run(args, sessions, clock, admin_lifecycle.operator())
        if args.cmd in admin_offering.COMMANDS:
            return admin_offering.run(args, sessions, clock, admin_lifecycle.operator())
        with sessions.begin() as db:
            if args.cmd in AUDITED:
                audit.record(db, clock.now(), "admin_" + args.cmd.replace("-", "_"),
                             actor=admin_lifecycle.operator())  # fmt: skip
            if args.cmd == "init":
                print(f"state {state} ready")
            elif args.cmd == "create-municipality":
                admin_ops.create_municipality(
                    db, args.code, args.name, args.mayor_title, args.mayor_name,
                    args.kiosk_fee, args.counter_fee,
                    args.seal.read_bytes() if args.seal else None,
                )  # fmt: skip
                print(f"municipality {args.code} created")
            elif args.cmd == "import-residents":
                reports = register_import.import_residents(
                    db, args.municipality, args.csv.read_text(encoding="utf-8"),
                    clock.today(), clock.now(),
                )  # fmt: skip
                for rep in reports:
                    print(json.dumps(rep.as_json(), ensure_ascii=False))
                print(json.dumps(register_import.summary(reports)))
            elif args.cmd == "register-kiosk":
                cert = pki.issue_kiosk(args.code)
                admin_ops.register_kiosk(db, args.code, cert, args.location)
                print(f"kiosk {args.code}: {pki.kiosk(args.code).with_suffix('.pem')}")
            elif args.cmd == "register-card":
                cert = x509.load_pem_x509_certificate(args.certificate.read_bytes())
                if args.demo_resident:
                    person = next((r for r in RESIDENTS if r.label == args.demo_resident), None)
                    where = (
                        (models.Resident.name == person.name)
                        & (models.Resident.municipality_code == person.muni)
                        if person
                        else models.Resident.id.is_(None)
                    )
                else:
                    index = session_keystore(db).index(args.my_number)  # sealed: keyed lookup
                    where = models.Resident.my_number_index.is_not(None) & (
                        models.Resident.my_number_index == index
                    )
                resident = db.scalar(select(models.Resident).where(where))
                if resident is None:
                    print("kofu center admin: no such resident", file=sys.stderr)
                    return 1
                issued = args.issued_on or cert.not_valid_before_utc.astimezone(JST).date()
                admin_ops.register_card(db, resident, cert, issued)
                print(f"card {cert.serial_number:x} registered to resident {resident.uid}")
            elif args.cmd == "revoke-card":
                cert = x509.load_pem_x509_certificate(args.certificate.read_bytes())
                admin_ops.revoke_card(db, cert, args.reason, clock.now())
                print(f"card {cert.serial_number:x} revoked")
            elif args.cmd == "ledger":
                day = args.date or clock.today()
                sys.stdout.write(admin_ops.ledger_csv(db, args.municipality, day))
            elif args.cmd == "maintenance":
                start, end = (
                    t if t.tzinfo else t.replace(tzinfo=JST) for t in (args.start, args.end)
                )
                if end <= start or db.get(models.Municipality, args.municipality) is None:
                    raise ValueError("unknown municipality or empty window")
                if max(len(args.notice_ja), len(args.notice_en)) > NOTICE_CHARS:
                    raise ValueError(f"a notice is at most {NOTICE_CHARS} characters")
                db.add(
                    models.MaintenanceWindow(
                        municipality_code=args.municipality, starts_at=start, ends_at=end,
                        note=args.note, notice_ja=args.notice_ja, notice_en=args.notice_en,
                    )
                )  # fmt: skip
                print(f"maintenance {start.isoformat()} - {end.isoformat()}")
            elif args.cmd == "kiosk-health":
                for row in admin_ops.kiosk_health(db):
                    print(json.dumps(row, ensure_ascii=False))
            elif args.cmd == "public-keys":
                keys = {
                    m.code: base64.b64encode(m.public_key).decode()
                    for m in db.scalars(select(models.Municipality))
                }
                print(json.dumps(keys))
    except ValueError as exc:
        print(f"kofu center admin: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0
