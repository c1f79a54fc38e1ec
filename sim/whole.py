"""`kofu sim` (= `make sim`): the whole simulated kiosk. For now: the simulated coprocessor
and the host's coprocessor driver, with the link's health shown live until Ctrl-C/SIGTERM.
A thin wiring module: every part lives in its own package."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from host.coproc import CoprocDriver, LinkStatus
from sim.coproc import SimCoproc


def status_line(driver: CoprocDriver) -> str:
    h = driver.health
    stats = driver.channel.stats
    link = "UP  " if h.up else "DOWN"
    peer = (
        f"{h.peer_fw} epoch {h.peer_epoch:08x} reset {h.peer_reset_cause.name.lower()}"
        if h.up and h.peer_reset_cause is not None
        else (h.refused or h.reason or "waiting")
    )
    errors = sum(v for k, v in stats.items() if k.startswith("rx_"))
    return (
        f"coproc link {link} {peer} | port {'open' if h.port_open else 'closed'} | "
        f"frames rx {stats.get('frames_rx', 0)} tx {stats.get('frames_tx', 0)} "
        f"retransmits {stats.get('retransmits', 0)} rejected {errors}"
    )


async def run(refresh_s: float) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    live = sys.stdout.isatty()
    sim = await asyncio.to_thread(SimCoproc().start)
    try:
        print(f"kofu sim: simulated coprocessor on {sim.port}; Ctrl-C to stop", flush=True)
        async with CoprocDriver(sim.port) as driver:
            events = driver.subscribe()
            last = ""
            while not stop.is_set():
                try:
                    event = await asyncio.wait_for(events.get(), refresh_s)
                    if not live and not isinstance(event, LinkStatus):
                        print(f"event: {event}", flush=True)
                except TimeoutError:
                    pass
                line = status_line(driver)
                if live:
                    print("\r" + line + "\033[K", end="", flush=True)
                elif line.split("|")[0] != last.split("|")[0]:
                    print(line, flush=True)  # logs and pipes: only changes of link state
                last = line
    finally:
        await asyncio.to_thread(sim.stop)
        if live:
            print()
    print("kofu sim: stopped", flush=True)
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="kofu sim", description=__doc__)
    parser.add_argument("--refresh", type=float, default=0.5, help="status refresh, seconds")
    args = parser.parse_args(argv)
    return asyncio.run(run(args.refresh))
