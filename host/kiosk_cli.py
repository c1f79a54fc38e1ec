"""`kofu kiosk --config kiosk.toml`: the kiosk service (devices, session, screen) until
SIGTERM/Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from host.kiosk.config import KioskConfigError, load

if TYPE_CHECKING:
    from host.kiosk.service import KioskService
    from host.ui.server import Kiosk


@contextlib.asynccontextmanager
async def _no_lifespan(app: Any) -> AsyncIterator[None]:
    yield  # the service starts and stops the kiosk itself


async def serve(config: Path) -> int:
    from host.kiosk.service import KioskService
    from host.ui.screen_token import ScreenTokenError, load_or_create

    cfg = load(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    service = KioskService(cfg)
    kiosk = await service.start()
    try:
        token = load_or_create(cfg.screen_token_path)
    except (ScreenTokenError, OSError) as exc:
        print(f"kofu kiosk: screen token: {exc}", file=sys.stderr, flush=True)
        await service.stop()
        return 2

    def ready(port: int) -> None:
        print(f"kofu kiosk: screen http://{cfg.ui.host}:{port}/ (its page presents the token"
              f" in {cfg.screen_token_path})", flush=True)  # fmt: skip
        service.notifier.ready(service.board.summary())  # systemd: the screen serves

    return await serve_screen(service, kiosk, token, stop, ready)


async def serve_screen(
    service: KioskService, kiosk: Kiosk, token: str, stop: asyncio.Event,
    ready: Callable[[int], None],
) -> int:
    """The started kiosk ``service`` behind its screen (uvicorn) until ``stop``; ``ready`` is
    told the screen's port once it serves. The service is stopped on the way out. 1 when the
    screen could not serve."""
    import uvicorn

    from host.kiosk.routes import add_service_routes
    from host.ui.server import create_app

    cfg = service.cfg
    app = create_app(kiosk, token)
    app.router.lifespan_context = _no_lifespan
    add_service_routes(app, service)
    server = uvicorn.Server(
        uvicorn.Config(app, host=cfg.ui.host, port=cfg.ui.port, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started and not task.done():
            await asyncio.sleep(0.05)
        if task.done():
            return 1
        ready(server.servers[0].sockets[0].getsockname()[1])
        await stop.wait()
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await task
        await service.stop()
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["clerk-pin"]:  # `kofu kiosk clerk-pin --id c01`: a clerk's kiosk.toml entry
        from host.kiosk.clerk_auth import clerk_pin_main

        return clerk_pin_main(argv[1:])
    if argv[:1] == ["enroll"]:  # the kiosk's own key and a CSR for the center to sign
        from host.kiosk.enroll import enroll_main

        return enroll_main(argv[1:])
    parser = argparse.ArgumentParser(
        prog="kofu kiosk", description=__doc__, epilog="kofu kiosk clerk-pin --id ID: the"
        " [[kiosk.clerks]] entry of a clerk's PIN (salted scrypt hash); kofu kiosk enroll"
        " --code C --key FILE --csr FILE: this kiosk's key and a request for the center",
    )  # fmt: skip
    parser.add_argument("--config", type=Path, default=Path("kiosk.toml"))
    parser.add_argument("--check", action="store_true", help="only validate the config")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(message)s")  # fmt: skip
    from host.kiosk.log_setup import quiet_http_clients

    quiet_http_clients()  # request URLs name certificates and orders: not for the log
    try:
        load(args.config)
    except KioskConfigError as exc:
        print(f"kofu kiosk: {exc}", file=sys.stderr)
        return 2
    if args.check:
        print(f"kofu kiosk: {args.config} is valid")
        return 0
    return asyncio.run(serve(args.config))
