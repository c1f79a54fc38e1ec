"""The whole session on the bench.

On the simulator (`[session] backend = "sim"`): the scripted happy path end to end (the PDF
verifies against the center's keys, the receipt prints) and a cancelled payment whose coins
come back out of the hoppers, both on one whole simulation.

On a real bench (`kiosk_config = "kiosk.toml"`): the kiosk service starts on that file and
every device reports healthy; with `person = true` the test then waits (`person_timeout_s`,
default 300) for a person at the bench to buy a certificate on the screen, and checks that
the session reached "take your items", ended at rest, and the cash journal balances.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hil_tests.conftest import bench_section
from host.session.hours import next_opening


def test_full_session(bench: dict[str, Any], tmp_path: Path) -> None:
    section = bench_section(bench, "session")
    if section.get("backend", "sim") == "sim":
        if shutil.which("pcscd") is None or shutil.which("ippeveprinter") is None:
            pytest.skip("needs pcscd and ippeveprinter")
        from documents.trust import load_trust
        from documents.verify import verify_file
        from sim.scripts.runner import run_on
        from sim.whole import WholeSim

        with WholeSim(tmp_path / "sim", clock=next_opening(datetime.now(UTC))) as sim:
            result = asyncio.run(run_on(sim, "happy-path", tmp_path / "out"))
            paid_out = sim.cash.totals()["paid_out"]
            cancelled = asyncio.run(run_on(sim, "cancel-refund", tmp_path / "cancel"))
            refunded = sim.cash.totals()["paid_out"] - paid_out
        assert result.pdf is not None and result.receipt is not None and result.trust
        assert "collect" in result.states
        report = verify_file(result.pdf.read_bytes(), load_trust(result.trust))
        assert report.valid, report
        assert "payment" in cancelled.states and refunded == cancelled.refunded_yen == 100
        return
    from host.kiosk.config import load
    from host.kiosk.service import KioskService
    from host.payment.journal import Journal
    from host.payment.report import build_report

    cfg = load(Path(section["kiosk_config"]))
    person = bool(section.get("person", False))
    wait_s = float(section.get("person_timeout_s", 300))

    async def run_bench() -> tuple[dict[str, bool], list[str]]:
        service = KioskService(cfg)
        kiosk = await service.start()
        states: list[str] = []
        try:
            await asyncio.sleep(6)  # one round of the center watcher
            health = dict(service.health)
            if person and all(health.values()):
                print("\nbench: buy one certificate on the kiosk screen now", flush=True)
                deadline = time.monotonic() + wait_s
                while time.monotonic() < deadline:
                    state = kiosk.state.value
                    if not states or states[-1] != state:
                        states.append(state)
                    if "collect" in states and state == "idle":
                        break
                    await asyncio.sleep(0.1)
            return health, states
        finally:
            await service.stop()

    health, states = asyncio.run(run_bench())
    assert all(health.values()), health
    if person:
        assert "payment" in states and "collect" in states, states
        assert states[-1] == "idle", states
        journal = Journal(cfg.spool_dir.parent / "cash-journal.db")
        try:
            report = build_report(journal)
        finally:
            journal.close()
        assert report.balanced and not report.open_transactions, report.as_dict()
