"""Screen simulator: the kiosk screen with injected devices: ``python -m sim.screen --sim``.

Prints ``kofu-ui: http://HOST:PORT/#token=...`` once listening (``--port 0`` picks a free
port; the fragment is this run's screen token, which the page presents on its WebSocket).
Device and center events are injected through ``/dev/events``; see README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import socket
from datetime import UTC, datetime

import uvicorn

from host.session.machine import SessionConfig
from host.session.states import DEFAULT_TIMEOUTS, State
from host.ui.server import create_app

from .dev_routes import add_dev_routes, sim_kiosk


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sim.screen", description=__doc__.splitlines()[0])
    ap.add_argument("--sim", action="store_true", required=True, help="simulation mode")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--now", help="fixed wall-clock time (ISO 8601 with offset) for tests")
    ap.add_argument("--timeout-scale", type=float, default=1.0, help="multiply every timeout")
    args = ap.parse_args(argv)

    if args.now:
        fixed = datetime.fromisoformat(args.now)
        if fixed.tzinfo is None:
            ap.error("--now needs a UTC offset")

        def now() -> datetime:
            return fixed

    else:

        def now() -> datetime:
            return datetime.now(UTC)

    timeouts = {s: t * args.timeout_scale for s, t in DEFAULT_TIMEOUTS.items()}
    config = SessionConfig(timeouts=dict[State, float](timeouts))
    kiosk = sim_kiosk(now, config, ticking=not args.now)
    token = secrets.token_urlsafe(32)
    app = create_app(kiosk, token)
    add_dev_routes(app, kiosk)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(128)
    host, port = sock.getsockname()[:2]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    print(f"kofu-ui: http://{host}:{port}/#token={token}", flush=True)
    print(f"kofu-ui panel: http://{host}:{port}/dev/panel#token={token}", flush=True)
    asyncio.run(server.serve(sockets=[sock]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
