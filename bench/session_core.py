"""Benchmark of the session core alone: ``python -m bench.session_core [--sessions N]``.

Measures what the host spends per citizen session when every device and the center answer
at once: the machine alone (events in, actions out), and the asyncio runner executing the
actions (timers, screen push, spool wipe) with device actions recorded. Prints ONE JSON
object as its last line. The full-system ``kofu bench session`` (devices and center with
latency models) builds on this once the parts are integrated.
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

from host.session.demo import OPEN_TIME, feed, main_path
from host.session.events import Timeout
from host.session.machine import SessionMachine
from host.session.runner import SessionRunner
from sim.screen.recording import RecordingExecutor


class _NullScreen:
    async def show(self, screen: str, data: dict[str, object]) -> None:
        return None


def machine_only(sessions: int) -> tuple[list[float], int]:
    m = SessionMachine(OPEN_TIME)
    times: list[float] = []
    events = 0
    for _ in range(sessions):
        steps = [step for _, step in main_path()]  # fresh PIN objects each time
        t0 = time.perf_counter()
        for step in steps:
            feed(m, step)
        times.append(time.perf_counter() - t0)
        events += len(steps)
    return times, events


async def with_runner(sessions: int, spool: Path) -> list[float]:
    runner = SessionRunner(
        SessionMachine(OPEN_TIME), RecordingExecutor(), _NullScreen(), spool_dir=spool
    )
    await runner.start()
    times: list[float] = []
    for _ in range(sessions):
        steps = [step for _, step in main_path()]
        t0 = time.perf_counter()
        for step in steps:
            await runner.handle(Timeout(runner.machine.seq) if isinstance(step, str) else step)
        times.append(time.perf_counter() - t0)
    await runner.close()
    return times


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=500)
    args = ap.parse_args(argv)
    m_times, events = machine_only(args.sessions)
    with tempfile.TemporaryDirectory() as tmp:
        r_times = asyncio.run(with_runner(args.sessions, Path(tmp)))
    result = {
        "sessions": args.sessions,
        "events_per_session": events // args.sessions,
        "machine_session_ms_p50": round(statistics.median(m_times) * 1000, 3),
        "machine_events_per_s": round(events / sum(m_times)),
        "runner_session_ms_p50": round(statistics.median(r_times) * 1000, 3),
        "runner_session_ms_p99": round(
            sorted(r_times)[max(0, int(len(r_times) * 0.99) - 1)] * 1000, 3
        ),
        "host_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
