"""SIGKILL the host at every journal step, before and after the write, across transactions;
restart it each time. Afterwards every transaction balances and the journal's money matches
what the simulated devices physically took in and paid out: nothing lost, nothing twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from host.payment.journal import Journal
from sim.cash.server import CashSim

HOST = Path(__file__).with_name("crash_host.py")
ROOT = Path(__file__).resolve().parents[2]

# (fee, coins, bills, collect timeout): two coins with change (a kill between credits too),
# a bill with change from two hoppers, and a customer who gives up (refund).
SCENARIOS = [
    (300, [100, 500], [], 2.0),
    (200, [], [1000], 2.0),
    (300, [100], [], 0.2),
]


# keep the caller's path too (`make test-clock` puts its sitecustomize there)
PYTHONPATH = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]


def run_host(
    sim: CashSim, journal: Path, fee: int, timeout: float, crash_at: int, when: str
) -> int:
    proc = subprocess.run(
        [
            sys.executable,
            str(HOST),
            "--journal",
            str(journal),
            "--cctalk",
            sim.cctalk_path,
            "--id003",
            sim.id003_path,
            "--fee",
            str(fee),
            "--collect-timeout",
            str(timeout),
            "--crash-at",
            str(crash_at),
            "--when",
            when,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *PYTHONPATH])},
    )
    if proc.returncode == -signal.SIGKILL:
        return -1
    assert proc.returncode == 0, proc.stderr
    return int(json.loads(proc.stdout.strip().splitlines()[-1])["appends"])


@pytest.mark.slow
def test_sigkill_at_every_journal_step(tmp_path: Path) -> None:
    journal_path = tmp_path / "cash.db"
    kills = 0
    with CashSim(hoppers={3: (100, 200), 4: (500, 100)}) as sim:
        for fee, coins, bills, timeout in SCENARIOS:
            for when in ("before", "after"):
                crash_at = 1
                while True:
                    with sim.lock:
                        sim.acceptor.queued.clear()
                        sim.validator.bills.clear()
                    sim.queue_coins(*coins)
                    for bill in bills:
                        sim.insert_bill(bill)
                    if run_host(sim, journal_path, fee, timeout, crash_at, when) >= 0:
                        break  # ran to the end without reaching the crash point
                    kills += 1
                    crash_at += 1
        with sim.lock:
            sim.acceptor.queued.clear()
            sim.validator.bills.clear()
        run_host(sim, journal_path, 0, 0, 0, "after")  # a last restart: recovery only
        totals = sim.totals()

    assert kills >= 30
    journal = Journal(journal_path)
    balances = journal.balances()
    for tx, b in balances.items():
        assert b.closed, f"{tx} still open: {b}"
        assert b.balanced, f"{tx} unbalanced: {b}"
        assert b.owed == b.vouchered
        assert b.fee_captured in (0, b.fee)
    entries = list(journal.entries())
    credited = sum(e.amount for e in entries if e.kind == "credit")
    paid_out = sum(e.amount for e in entries if e.kind in ("change_paid", "refund_paid"))
    assert credited == totals["coins_in"] + totals["bills_in"]
    assert paid_out == totals["paid_out"]
    coin_counters = [e.counter for e in entries if e.kind == "credit" and e.device == "coin"]
    assert len(coin_counters) == len(set(coin_counters))  # no event credited twice
    journal.close()
