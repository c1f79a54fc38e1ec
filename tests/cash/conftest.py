"""Fixtures for the cash tests: the simulator on real ptys, a journal in a per-test temp dir,
and a desk wired to both through the real drivers (with fast poll intervals)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from host.payment.config import CashConfig, HopperConfig
from host.payment.desk import CashDesk
from host.payment.devices import open_devices
from host.payment.journal import Journal
from sim.cash.server import CashSim


@pytest.fixture
def sim() -> Iterator[CashSim]:
    with CashSim() as s:
        yield s


def fast_config(sim: CashSim, **overrides: object) -> CashConfig:
    cfg = CashConfig(
        hoppers=(HopperConfig(3, 100, 50), HopperConfig(4, 500, 20)),
        cctalk_port=sim.cctalk_path,
        id003_port=sim.id003_path,
        poll_interval_s=0.01,
        hopper_poll_s=0.005,
        session_timeout_s=2.0,
    )
    return replace(cfg, **overrides)  # type: ignore[arg-type]


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return tmp_path / "cash.db"


@pytest.fixture
def make_desk(sim: CashSim, journal_path: Path) -> Iterator[object]:
    made: list[tuple[CashDesk, Journal]] = []

    def make(**overrides: object) -> CashDesk:
        journal = Journal(journal_path)
        desk = CashDesk(
            journal, open_devices(fast_config(sim, **overrides)), fast_config(sim, **overrides)
        )
        for hopper in desk.devices.hoppers:
            hopper.stall_timeout_s = 0.5  # type: ignore[attr-defined]
        made.append((desk, journal))
        return desk

    yield make
    for desk, journal in made:
        desk.devices.close()
        journal.close()


@pytest.fixture
def desk(make_desk: object) -> CashDesk:
    d: CashDesk = make_desk()  # type: ignore[operator]
    d.start()
    return d
