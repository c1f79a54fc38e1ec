"""Cash scenarios per device, on the simulator by default or on a real bench.

`[cctalk]` and `[id003]` sections of the bench file: ``backend = "sim"`` starts the simulated
devices on ptys; ``port = "..."`` names a real port (checksum = "crc16" where the bus uses it).
Scenarios that need money inserted on cue, or a fault injected, run on the simulator only;
on a real bench they skip and the device scenarios (identify, tables, inhibits, status) run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drivers.coin.cctalk import Checksum
from drivers.coin.cctalk_acceptor import CcTalkCoinAcceptor
from drivers.coin.cctalk_hopper import CcTalkHopper
from drivers.coin.cctalk_port import CcTalkPort
from drivers.coin.id003_validator import Id003Validator
from drivers.coin.interfaces import Credit, Escrow, PowerUp, VendValid
from drivers.coin.pulse_acceptor import PulseCoinAcceptor
from hil_tests.conftest import bench_section
from host.coproc import CoprocDriver
from host.payment.config import CashConfig, HopperConfig
from host.payment.coproc_coins import CoprocCoinSource, open_pulse_devices
from host.payment.desk import CashDesk
from host.payment.devices import open_devices
from host.payment.journal import Journal
from sim.cash.server import CashSim
from sim.coproc import SimCoproc


@pytest.fixture(scope="module")
def cash_sim(bench: dict[str, Any]) -> Iterator[CashSim | None]:
    wants_sim = any(bench.get(name, {}).get("backend") == "sim" for name in ("cctalk", "id003"))
    if not wants_sim:
        yield None
        return
    with CashSim() as sim:
        yield sim


def port_of(section: dict[str, Any], sim: CashSim | None, wire: str) -> str:
    if section.get("backend") == "sim":
        assert sim is not None
        return sim.cctalk_path if wire == "cctalk" else sim.id003_path
    return str(section["port"])


@pytest.fixture
def cctalk(bench: dict[str, Any], cash_sim: CashSim | None) -> Iterator[CcTalkPort]:
    section = bench_section(bench, "cctalk")
    port = CcTalkPort.open(
        port_of(section, cash_sim, "cctalk"), checksum=Checksum(section.get("checksum", "sum8"))
    )
    yield port
    port.close()


@pytest.fixture
def validator(bench: dict[str, Any], cash_sim: CashSim | None) -> Iterator[Id003Validator]:
    section = bench_section(bench, "id003")
    v = Id003Validator.open(port_of(section, cash_sim, "id003"))
    yield v
    v.close()


def needs_sim(sim: CashSim | None) -> CashSim:
    if sim is None:
        pytest.skip("needs money inserted on cue: simulator only")
    return sim


def test_coin_acceptor_identifies_and_reads_its_coin_table(cctalk: CcTalkPort) -> None:
    acc = CcTalkCoinAcceptor(cctalk)
    acc.start()
    assert acc.identity.get("category", "").startswith("Coin")
    assert {100, 500} <= acc.denominations()
    acc.set_enabled(frozenset({100}))
    acc.set_enabled(frozenset())
    acc.poll()


def test_coin_credit(cctalk: CcTalkPort, cash_sim: CashSim | None) -> None:
    sim = needs_sim(cash_sim)
    acc = CcTalkCoinAcceptor(cctalk)
    acc.start()
    acc.poll()
    acc.set_enabled(frozenset({100, 500}))
    sim.insert_coin(500)
    assert [e.value for e in acc.poll() if isinstance(e, Credit)] == [500]
    acc.set_enabled(frozenset())


def test_hoppers_answer_status(cctalk: CcTalkPort, bench: dict[str, Any]) -> None:
    for address, value in ((3, 100), (4, 500)):
        hopper = CcTalkHopper(cctalk, value=value, address=address)
        hopper.start()
        assert len(hopper.serial) == 3
        hopper.status()


def test_hopper_pays_out(cctalk: CcTalkPort, cash_sim: CashSim | None) -> None:
    sim = needs_sim(cash_sim)
    before = sim.hoppers[3].paid_total
    hopper = CcTalkHopper(cctalk, value=100, address=3, status_interval_s=0.01)
    hopper.start()
    assert hopper.dispense(2).paid == 2
    assert sim.hoppers[3].paid_total == before + 2


def test_bill_validator_starts_and_reads_its_currency_table(validator: Id003Validator) -> None:
    assert validator.start() in (PowerUp.NORMAL, PowerUp.BILL_IN_ACCEPTOR)
    assert 1000 in validator.denominations()
    validator.set_enabled(frozenset({1000}))
    validator.set_enabled(frozenset())


def test_bill_credit_only_after_vend_valid(
    validator: Id003Validator, cash_sim: CashSim | None
) -> None:
    sim = needs_sim(cash_sim)
    validator.start()
    validator.set_enabled(frozenset({1000}))
    before = sim.totals()["bills_in"]
    sim.insert_bill(1000)
    seen: list[object] = []
    for _ in range(20):
        for event in validator.poll():
            seen.append(event)
            if isinstance(event, Escrow):
                validator.stack()
            if isinstance(event, VendValid):
                validator.acknowledge_vend()
        if any(isinstance(e, VendValid) for e in seen) and sim.validator.state in (0x11, 0x1A):
            break
    assert Escrow("bill", 1000) in seen and VendValid("bill", 1000) in seen
    assert sim.totals()["bills_in"] == before + 1000
    validator.set_enabled(frozenset())


def test_payment_with_change_on_the_bench(
    bench: dict[str, Any], cash_sim: CashSim | None, tmp_path: Path
) -> None:
    sim = needs_sim(cash_sim)
    cctalk_section = bench_section(bench, "cctalk")
    id003_section = bench_section(bench, "id003")
    cfg = CashConfig(
        hoppers=(HopperConfig(3, 100, 50), HopperConfig(4, 500, 20)),
        cctalk_port=port_of(cctalk_section, sim, "cctalk"),
        id003_port=port_of(id003_section, sim, "id003"),
        poll_interval_s=0.02,
        hopper_poll_s=0.01,
    )
    journal = Journal(tmp_path / "cash.db")
    devices = open_devices(cfg)
    try:
        desk = CashDesk(journal, devices, cfg)
        desk.start()
        paid_before = sim.totals()["paid_out"]
        sim.insert_bill(1000)
        pay = desk.begin(300, municipality="shibukawa")
        assert pay.collect(timeout_s=5)
        pay.capture_fee()
        assert pay.give_change().paid == 700
        assert sim.totals()["paid_out"] - paid_before == 700
        assert all(b.balanced for b in journal.balances().values())
    finally:
        devices.close()
        journal.close()


def test_pulse_coins_through_the_coprocessor_into_the_journal(
    bench: dict[str, Any], cash_sim: CashSim | None, tmp_path: Path
) -> None:
    """`[cash] coin_acceptor = "pulse"`: coins counted by the coprocessor are credited once,
    the inhibit line follows the payment, change comes from the ccTalk hoppers."""
    sim = needs_sim(cash_sim)
    coproc_section = bench_section(bench, "coproc")
    cctalk_section = bench_section(bench, "cctalk")
    if coproc_section.get("backend") != "sim":
        pytest.skip("needs coins inserted on cue: simulated coprocessor only")
    cfg = CashConfig(
        coin_acceptor="pulse",
        hoppers=(HopperConfig(3, 100, 50), HopperConfig(4, 500, 20)),
        cctalk_port=port_of(cctalk_section, sim, "cctalk"),
        poll_interval_s=0.02,
        hopper_poll_s=0.01,
    )

    def inhibited(board: SimCoproc, want: bool) -> None:
        board.wait_state(lambda st: bool(st["inhibit"]) is want, 5.0)

    async def main(board: SimCoproc, journal: Journal) -> None:
        driver = CoprocDriver(board.port, reopen_s=0.1)
        source = CoprocCoinSource(driver, journal)
        await driver.start()
        devices = open_pulse_devices(cfg, source)
        assert isinstance(devices.acceptor, PulseCoinAcceptor)
        coins = asyncio.create_task(devices.acceptor.run())
        try:
            await driver.wait_up(timeout=10)
            desk = CashDesk(journal, devices, cfg)
            await asyncio.to_thread(desk.start)
            await asyncio.to_thread(inhibited, board, True)
            pay = desk.begin(200, municipality="masuda")
            await asyncio.to_thread(inhibited, board, False)
            await asyncio.to_thread(board.insert_coin, 500)
            assert await asyncio.to_thread(pay.collect, 5)
            await asyncio.to_thread(inhibited, board, True)
            pay.capture_fee()
            assert (await asyncio.to_thread(pay.give_change)).paid == 300
            credits = [(e.amount, e.counter) for e in journal.entries() if e.kind == "credit"]
            assert credits == [(500, 1)]
            assert journal.balance(pay.tx).balanced
        finally:
            coins.cancel()
            await asyncio.gather(coins, return_exceptions=True)
            devices.close()
            await driver.stop()

    journal = Journal(tmp_path / "cash.db")
    try:
        with SimCoproc() as board:
            asyncio.run(main(board, journal))
    finally:
        journal.close()
