"""`kofu center`: run the issuance center; `kofu center admin ...`: administer it.

With no options it starts on 127.0.0.1:8443 with a demo database in ``./.center-state``:
TLS material, a stand-in JPKI CA with demo cards and two demo kiosk certificates are created
there on first start. ``--db postgresql://...`` uses PostgreSQL instead of SQLite.

``--verify-port N`` also serves the public certificate check page (upload a scan of a
certificate's back: VALID / INVALID) at ``https://HOST:N/verify/``, over TLS with the center's
server certificate but without a client certificate. It needs its own port because the API
port requires a kiosk certificate in the TLS handshake, before any path is known. The page
runs in a process of its own (``center.verify_server``), stopped with the center.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from center import token_setup
from center.clock import Clock
from center.config import CenterConfig, default_db_url
from center.pki import DemoJpki
from center.private_files import private_umask

DEFAULT_STATE = ".center-state"


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--state", default=DEFAULT_STATE, help="state directory (default %(default)s)")
    p.add_argument("--db", default=None, help="database URL (default: SQLite in the state dir)")
    token_setup.add_flags(p)


def build_config(args: argparse.Namespace) -> CenterConfig:
    state = Path(args.state).resolve()
    cas = list(getattr(args, "jpki_ca", None) or [])
    crls = list(getattr(args, "jpki_crl", None) or [])
    if not getattr(args, "no_demo", False):
        jpki = DemoJpki(state)
        cas.append(str(jpki.ca.with_suffix(".pem")))
        crls.append(str(jpki.crl))
    pin_file = getattr(args, "pkcs11_pin_file", "")
    clock = Clock()
    if getattr(args, "clock", None):
        clock = Clock.starting_at(datetime.fromisoformat(args.clock))
    return CenterConfig(
        state_dir=str(state),
        db_url=args.db or default_db_url(state),
        jpki_ca_files=tuple(str(Path(c).resolve()) for c in cas),
        jpki_crl_files=tuple(str(Path(c).resolve()) for c in crls),
        clock_offset_s=clock.offset_s,
        max_connections=getattr(args, "max_connections", 1024),
        max_connections_per_client=getattr(args, "max_connections_per_client", 64),
        pkcs11_module=getattr(args, "pkcs11_module", ""),
        pkcs11_token=getattr(args, "pkcs11_token", ""),
        pkcs11_pin_file=str(Path(pin_file).resolve()) if pin_file else "",
    )


def main(argv: list[str]) -> int:
    if argv and argv[0] == "admin":
        from center.admin_cli import main as admin_main

        return admin_main(argv[1:])
    p = argparse.ArgumentParser(prog="kofu center", description=__doc__)
    _common(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8443, help="0 picks a free port")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--jpki-ca", action="append", help="trusted JPKI CA certificate(s), PEM")
    p.add_argument("--jpki-crl", action="append", help="CRL(s) of those CAs, PEM")
    p.add_argument("--no-demo", action="store_true", help="no demo data, no stand-in JPKI CA")
    p.add_argument("--clock", help="pretend the time at start is this ISO instant (tests, demos)")
    p.add_argument("--access-log", action="store_true")
    p.add_argument("--max-connections", type=int, default=1024,
                   help="open connections per worker process (default %(default)s)")
    p.add_argument("--max-connections-per-client", type=int, default=64,
                   help="open connections from one address, per worker (default %(default)s)")
    p.add_argument(
        "--verify-port",
        type=int,
        default=None,
        help="also serve the public certificate check page on this port (TLS, no client "
        "certificate; 0 picks a free port)",
    )
    p.add_argument("--verify-rate", type=float, default=6.0,
                   help="checks per minute per client address on that page (default 6)")
    args = p.parse_args(argv)
    private_umask()  # state, database (and its -wal/-shm), token files: the owner's alone
    config = build_config(args)
    from center.prepare import prepare

    prepare(config, demo=not args.no_demo)
    Clock(config.clock_offset_s).save(Path(config.state_dir))
    from center import verify_server

    verify = None
    if args.verify_port is not None:
        verify = verify_server.start(config, args.host, args.verify_port, args.access_log,
                                     args.verify_rate)
    from center.server import serve

    try:
        serve(config, args.host, args.port, max(1, args.workers), args.access_log)
    except KeyboardInterrupt:
        pass
    finally:
        if verify is not None:
            verify_server.stop(verify)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
