"""`kofu bench cash`: the host's CPU share while idle-polling every cash device, and the time
from a coin credit on the wire to its journal commit.

- ``idle_cpu_pct``: the simulator runs in its own process (`kofu sim cash`); this process
  runs the desk's idle loop (acceptor and validator polled every ``poll_interval_s``, hoppers
  checked every ~5 s) and reports its CPU time over wall time, in percent of one core.
- ``credit_commit_ms_p99``: the simulator runs in-process so both ends share one clock; the
  time from the simulator writing the credit-buffer reply that carries a new coin to the
  journal's commit of that credit (SQLite WAL, synchronous=FULL, on the temp folder's disk).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from host.payment.config import CashConfig, HopperConfig
from host.payment.desk import CashDesk
from host.payment.devices import open_devices
from host.payment.journal import Journal

HOPPERS = (HopperConfig(3, 100, 50), HopperConfig(4, 500, 20))


def idle_cpu(seconds: float, poll_interval_s: float) -> dict[str, Any]:
    sim = subprocess.Popen(
        [sys.executable, "-c", "from sim.cash.cli import main; raise SystemExit(main([]))"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert sim.stdout is not None
        paths = json.loads(sim.stdout.readline())
        with tempfile.TemporaryDirectory() as tmp:
            cfg = CashConfig(
                hoppers=HOPPERS,
                cctalk_port=paths["cctalk"],
                id003_port=paths["id003"],
                poll_interval_s=poll_interval_s,
            )
            journal = Journal(Path(tmp) / "cash.db")
            devices = open_devices(cfg)
            desk = CashDesk(journal, devices, cfg)
            desk.start()
            cpu0, wall0 = time.process_time(), time.monotonic()
            next_hopper_check = wall0 + 5.0
            polls = 0
            while time.monotonic() - wall0 < seconds:
                desk.poll()
                polls += 1
                if time.monotonic() >= next_hopper_check:
                    desk.check_hoppers()
                    next_hopper_check += 5.0
                time.sleep(poll_interval_s)
            cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
            devices.close()
            journal.close()
    finally:
        sim.terminate()
        sim.wait(timeout=10)
    return {
        "idle_cpu_pct": round(100.0 * cpu / wall, 3),
        "idle_seconds": round(wall, 2),
        "idle_polls": polls,
        "poll_interval_s": poll_interval_s,
    }


def credit_latency(coins: int) -> dict[str, Any]:
    from sim.cash.server import CashSim  # only the benchmark wiring knows the simulator

    # In order of occurrence: the counter wraps 255 -> 1, so it cannot key a long run.
    wire: list[float] = []
    commit: list[float] = []
    append_ms: list[float] = []
    last_counter: list[int] = [-1]
    with tempfile.TemporaryDirectory() as tmp, CashSim() as sim:

        def on_reply(counter: int) -> None:
            if counter != last_counter[0]:  # a reply carrying a new event (not a retry)
                last_counter[0] = counter
                wire.append(time.monotonic())

        sim.bus.on_credit_reply = on_reply
        cfg = CashConfig(
            hoppers=HOPPERS, cctalk_port=sim.cctalk_path, id003_port=None, poll_interval_s=0.0
        )
        journal = Journal(Path(tmp) / "cash.db")
        original = journal.append

        def timed_append(kind: str, **kw: Any) -> int:
            t0 = time.monotonic()
            seq = original(kind, **kw)
            if kind == "credit" and kw.get("counter") is not None:
                commit.append(time.monotonic())
                append_ms.append((time.monotonic() - t0) * 1000.0)
            return seq

        journal.append = timed_append  # type: ignore[method-assign]
        devices = open_devices(cfg)
        desk = CashDesk(journal, devices, cfg)
        desk.start()
        pay = desk.begin(10**7)
        desk.poll()
        wire.clear()
        commit.clear()
        for _ in range(coins):
            sim.insert_coin(100)
            desk.poll()
        assert pay.paid == 100 * coins  # abandoned with its temp journal
        devices.close()
        journal.close()
    if len(wire) != len(commit):
        raise RuntimeError(f"{len(wire)} credits on the wire but {len(commit)} committed")
    samples = sorted((c - w) * 1000.0 for w, c in zip(wire, commit, strict=True))
    if not samples:
        return {"credit_commit_ms_p99": None, "credit_samples": 0}
    return {
        "credit_commit_ms_p99": round(p99(samples), 3),
        "credit_commit_ms_p50": round(statistics.median(samples), 3),
        "journal_commit_ms_p99": round(p99(sorted(append_ms)), 3),
        "credit_samples": len(samples),
    }


def p99(sorted_samples: list[float]) -> float:
    return sorted_samples[min(len(sorted_samples) - 1, round(0.99 * (len(sorted_samples) - 1)))]


def run(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"bench": "cash"}
    result.update(idle_cpu(args.seconds, args.poll_interval))
    result.update(credit_latency(args.coins))
    return result


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="kofu bench cash")
    ap.add_argument("--seconds", type=float, default=20.0, help="idle measurement length")
    ap.add_argument("--poll-interval", type=float, default=0.2)
    ap.add_argument("--coins", type=int, default=300, help="coin credits timed")
    print(json.dumps(run(ap.parse_args(argv))))
    return 0
