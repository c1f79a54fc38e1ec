"""`kofu bench center`: N concurrent simulated kiosks on loopback through the whole flow
(challenge, card signature, authenticate, menu, order, payment/issue, print result, logout)
against a center with W worker processes, on SQLite and then on PostgreSQL.

Prints one JSON object as its last line: per backend ``issuances_per_s`` (certificates
issued per second of wall time), ``p50_ms`` / ``p99_ms`` (one citizen's whole flow), and
``workers``.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from center import demo
from center.launch import RunningCenter
from center.pgtemp import TempPostgres
from center.pki import CenterPki
from center.simkiosk import Card, KioskSession, client, issue_juminhyo

CITIZENS = ("taro", "hanako", "ichiro", "turning15", "foreign", "sato", "wakaba")


def _kiosk(url: str, state: Path, index: int, flows: int) -> tuple[list[float], int]:
    kiosk = ("demo-kiosk", "demo-kiosk-2")[index % 2]
    cards = [Card.demo(state, label) for label in CITIZENS]
    latencies: list[float] = []
    issued = 0
    with client(url, state, kiosk) as http:
        for n in range(flows):
            start = time.perf_counter()
            result = issue_juminhyo(KioskSession(http), cards[(index + n) % len(cards)])
            latencies.append((time.perf_counter() - start) * 1000)
            issued += len(result["certificates"])
    return latencies, issued


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run_backend(state: Path, db: str, kiosks: int, flows: int, workers: int) -> dict[str, Any]:
    clock = demo.service_morning().isoformat()
    with RunningCenter(state, "--clock", clock, workers=workers, db=db) as center:
        _kiosk(center.url, state, 0, 2)  # warm up every worker's imports and pools
        _kiosk(center.url, state, 1, 2)
        start = time.perf_counter()
        with cf.ThreadPoolExecutor(kiosks) as pool:
            results = list(pool.map(lambda i: _kiosk(center.url, state, i, flows), range(kiosks)))
        wall = time.perf_counter() - start
    latencies = [ms for lat, _ in results for ms in lat]
    issued = sum(n for _, n in results)
    return {
        "issuances_per_s": round(issued / wall, 2),
        "p50_ms": round(statistics.median(latencies), 1),
        "p99_ms": round(_percentile(latencies, 0.99), 1),
        "issuances": issued,
        "wall_s": round(wall, 2),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="kofu-bench-center-") as tmp:
        state = Path(tmp)
        CenterPki(state).ensure()
        demo.ensure_pki(state)
        out: dict[str, Any] = {
            "kiosks": args.kiosks,
            "flows_per_kiosk": args.flows,
            "workers": args.workers,
        }
        out["sqlite"] = run_backend(
            state, f"sqlite:///{state / 'bench.db'}", args.kiosks, args.flows, args.workers
        )
        if not args.no_postgres:
            with TempPostgres() as pg:
                out["postgresql"] = run_backend(
                    state, pg.url, args.kiosks, args.flows, args.workers
                )
        return out


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="kofu bench center", description=__doc__)
    p.add_argument("--kiosks", type=int, default=8, help="concurrent simulated kiosks")
    p.add_argument("--flows", type=int, default=10, help="citizen flows per kiosk")
    p.add_argument("--workers", type=int, default=2, help="center worker processes")
    p.add_argument("--no-postgres", action="store_true")
    args = p.parse_args(argv)
    print(json.dumps(run(args)))
    return 0
