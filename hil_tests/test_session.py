"""The whole session on the bench: on the simulator, the scripted happy path end to end; on a
real bench, the kiosk service starts on its kiosk.toml and every device reports healthy."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest

from hil_tests.conftest import bench_section


def test_full_session(bench: dict[str, Any], tmp_path: Path) -> None:
    section = bench_section(bench, "session")
    if section.get("backend", "sim") == "sim":
        if shutil.which("pcscd") is None or shutil.which("ippeveprinter") is None:
            pytest.skip("needs pcscd and ippeveprinter")
        from sim.scripts.runner import run_on
        from sim.whole import WholeSim

        with WholeSim(tmp_path / "sim") as sim:
            result = asyncio.run(run_on(sim, "happy-path", tmp_path / "out"))
        assert result.pdf is not None and result.receipt is not None
        assert "collect" in result.states
        return
    from host.kiosk.config import load
    from host.kiosk.service import KioskService

    cfg = load(Path(section["kiosk_config"]))

    async def start_and_check() -> dict[str, bool]:
        service = KioskService(cfg)
        await service.start()
        try:
            await asyncio.sleep(6)  # one round of the center watcher
            return dict(service.health)
        finally:
            await service.stop()

    health = asyncio.run(start_and_check())
    assert all(health.values()), health
