"""`kofu bench session`: the scripted happy path N times on the whole simulation (default
device latency models), one kiosk service per run, one simulation for all runs.

- `session_s_p50`: wall time of one session, from the first touch to the card lifted.
- `host_overhead_ms_p50`: CPU time of the kiosk's event-loop thread during a session: the
  session machine, runner, screen hub, adapters and center client; the time spent waiting
  on devices, the center or the simulated person is not CPU time of that thread (blocking
  driver calls run on worker threads).
- `host_rss_mb`: peak resident memory of the process (it also hosts the in-process
  simulators: the card, the cash devices, the receipt sink, so this is an upper bound).
- `idle_cpu_pct`: CPU of this process while the kiosk sits idle for `--idle` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sim.scripts.runner import Person, Result, happy_path
from sim.whole import WholeSim


async def _runs(sim: WholeSim, n: int, idle_s: float) -> dict[str, Any]:
    sessions: list[float] = []
    overhead: list[float] = []
    idle_pct = 0.0
    for i in range(n):
        service = sim.kiosk_service()
        await service.start()
        try:
            person = Person(sim, service, Result("happy-path"))
            wall0, cpu0 = time.perf_counter(), time.thread_time()
            await happy_path(person)
            sessions.append(time.perf_counter() - wall0)
            overhead.append((time.thread_time() - cpu0) * 1000)
            if i == n - 1 and idle_s > 0:
                await asyncio.sleep(1.0)  # let the session's tail settle
                p0, w0 = time.process_time(), time.perf_counter()
                await asyncio.sleep(idle_s)
                idle_pct = 100 * (time.process_time() - p0) / (time.perf_counter() - w0)
        finally:
            await service.stop()
    return {
        "runs": n,
        "session_s_p50": round(statistics.median(sessions), 3),
        "session_s_max": round(max(sessions), 3),
        "host_overhead_ms_p50": round(statistics.median(overhead), 1),
        "host_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "idle_cpu_pct": round(idle_pct, 2),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="kofu bench session", description=__doc__)
    parser.add_argument("-n", "--runs", type=int, default=5)
    parser.add_argument("--idle", type=float, default=5.0, help="idle measurement, seconds")
    parser.add_argument("--state", help="simulation state dir (default: a temp dir)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kofu-bench-session-") as tmp:
        state = Path(args.state) if args.state else Path(tmp)
        with WholeSim(state) as sim:
            figures = asyncio.run(_runs(sim, args.runs, args.idle))
    print(json.dumps(figures), flush=True)
    return 0
