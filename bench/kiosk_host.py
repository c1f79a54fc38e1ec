"""The kiosk host alone, in its own process, on a simulation's kiosk.toml: what `kofu bench
kiosk-crash` kills and starts again the way the kiosk's service manager would (same config,
same state dir, same clock), while the devices and the center keep running elsewhere.

    python -m bench.kiosk_host --config STATE/kiosk.toml [--clock ISO]

``--clock``: the instant the simulation's kiosk clock reads now (`WholeSim.kiosk_clock`);
the host's clock runs on from it at real speed (`host/kiosk/fixed_clock.py`), so a restarted
host goes on with the same clock instead of jumping back to the simulation's start. Prints
``kiosk-host: screen http://HOST:PORT/ token TOKEN`` once the screen serves.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from datetime import datetime
from pathlib import Path

READY = "kiosk-host: screen"


async def serve(config: Path, clock_at: datetime | None) -> int:
    from host.kiosk.config import load
    from host.kiosk.fixed_clock import running_from
    from host.kiosk.service import KioskService
    from host.kiosk_cli import serve_screen
    from host.ui.screen_token import load_or_create

    cfg = load(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    clock = running_from(clock_at) if clock_at is not None else None
    service = KioskService(cfg, clock=clock)
    kiosk = await service.start()
    token = load_or_create(cfg.screen_token_path)

    def ready(port: int) -> None:
        print(f"{READY} http://{cfg.ui.host}:{port}/ token {token}", flush=True)

    return await serve_screen(service, kiosk, token, stop, ready)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.kiosk_host", description=__doc__)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--clock", type=datetime.fromisoformat, help="the kiosk's time now")
    args = parser.parse_args(argv)
    return asyncio.run(serve(args.config, args.clock))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
