"""Coins from the pulse acceptor through the simulated coprocessor (the real firmware under
CPython on a pty, coins pulsed on its input pin) into the cash journal, end to end."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from drivers.coin.pulse_acceptor import PulseCoinAcceptor
from host.coproc import CoprocDriver
from host.payment.config import CashConfig, HopperConfig
from host.payment.coproc_coins import BOOT_EVENT, CoprocCoinSource, open_pulse_devices
from host.payment.desk import CashDesk
from host.payment.journal import Journal
from sim.cash.server import CashSim
from sim.coproc import SimCoproc


@pytest.fixture
def board() -> Iterator[SimCoproc]:
    with SimCoproc() as s:
        yield s


@pytest.fixture
def cash() -> Iterator[CashSim]:
    with CashSim() as s:
        yield s


@dataclass
class Kiosk:
    driver: CoprocDriver
    source: CoprocCoinSource
    desk: CashDesk
    journal: Journal


@asynccontextmanager
async def kiosk(board: SimCoproc, cash: CashSim, journal_path: Path) -> AsyncIterator[Kiosk]:
    cfg = CashConfig(
        coin_acceptor="pulse",
        hoppers=(HopperConfig(3, 100, 50), HopperConfig(4, 500, 20)),
        cctalk_port=cash.cctalk_path,
        poll_interval_s=0.01,
        hopper_poll_s=0.005,
    )
    journal = Journal(journal_path)
    driver = CoprocDriver(board.port, reopen_s=0.1)
    source = CoprocCoinSource(driver, journal, retry_s=0.05)
    await driver.start()
    devices = open_pulse_devices(cfg, source)
    assert isinstance(devices.acceptor, PulseCoinAcceptor)
    coins = asyncio.create_task(devices.acceptor.run())
    try:
        await driver.wait_up(timeout=10)
        desk = CashDesk(journal, devices, cfg)
        await asyncio.to_thread(desk.start)
        yield Kiosk(driver, source, desk, journal)
    finally:
        coins.cancel()
        await asyncio.gather(coins, return_exceptions=True)
        devices.close()
        await driver.stop()
        journal.close()


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition never met"
        await asyncio.sleep(0.02)


async def pin_inhibit(board: SimCoproc, inhibited: bool, timeout: float = 5.0) -> None:
    def check(st: dict[str, Any]) -> bool:
        return bool(st["inhibit"]) is inhibited

    await asyncio.to_thread(board.wait_state, check, timeout)


async def insert(board: SimCoproc, *values: int) -> None:
    for value in values:
        await asyncio.to_thread(board.insert_coin, value)
        await asyncio.sleep(0.5)  # a pulse acceptor takes about two coins a second


def credits(journal: Journal) -> list[tuple[int, int | None]]:
    return [(e.amount, e.counter) for e in journal.entries() if e.kind == "credit"]


def test_coins_credited_once_with_inhibit_following_the_payment(
    board: SimCoproc, cash: CashSim, tmp_path: Path
) -> None:
    async def main() -> None:
        async with kiosk(board, cash, tmp_path / "j.db") as k:
            await pin_inhibit(board, True)  # no payment: the slot stays closed
            pay = k.desk.begin(300, municipality="masuda")
            await pin_inhibit(board, False)
            await insert(board, 100, 500)
            assert await asyncio.to_thread(pay.collect, 5)
            await pin_inhibit(board, True)  # paid: closed again before change is given
            pay.capture_fee()
            settlement = await asyncio.to_thread(pay.give_change)
            assert settlement.paid == 300 and cash.hoppers[3].paid_total == 3
            assert credits(k.journal) == [(100, 1), (500, 2)]
            assert k.journal.balance(pay.tx).balanced
            # a coin the acceptor still lets through with no payment open is money too:
            # its own transaction, owed on a voucher, never lost
            await insert(board, 50)
            await until(lambda: (k.desk.poll(), len(credits(k.journal)))[1] == 3)
            assert credits(k.journal)[-1] == (50, 3)
            assert all(b.balanced for b in k.journal.balances().values())

    asyncio.run(main())


def test_a_coprocessor_reboot_restarts_the_counter_live_and_across_a_host_restart(
    board: SimCoproc, cash: CashSim, tmp_path: Path
) -> None:
    path = tmp_path / "j.db"

    async def main() -> None:
        async with kiosk(board, cash, path) as k:
            pay = k.desk.begin(200)
            await pin_inhibit(board, False)
            await insert(board, 100)
            await until(lambda: (k.desk.poll(), pay.paid)[1] == 100)
            epoch = k.driver.health.peer_epoch
            await asyncio.to_thread(board.power_cycle)  # counter 1 again on the new boot
            await until(lambda: k.driver.health.up and k.driver.health.peer_epoch != epoch)
            await pin_inhibit(board, False)  # still collecting: opened again after the boot
            await insert(board, 100)
            assert await asyncio.to_thread(pay.collect, 5)
            pay.capture_fee()
            await asyncio.to_thread(pay.give_change)
            assert credits(k.journal) == [(100, 1), (100, 1)]
            assert k.source.reboots == 1
        # the board reboots while the host is down: the journal knows the old boot
        await asyncio.to_thread(board.power_cycle)
        async with kiosk(board, cash, path) as k:
            await until(lambda: k.source.boot_id is not None)
            pay = k.desk.begin(100)
            await pin_inhibit(board, False)
            await insert(board, 100)  # counter 1 once more: new money, not a repeat
            assert await asyncio.to_thread(pay.collect, 5)
            assert credits(k.journal)[-1] == (100, 1)
            boots = [e for e in k.journal.entries() if e.detail.get("event") == BOOT_EVENT]
            assert len({e.detail["boot_id"] for e in boots}) == 3

    asyncio.run(main())


def test_link_loss_inhibits_coins_and_loses_none(
    board: SimCoproc, cash: CashSim, tmp_path: Path
) -> None:
    async def main() -> None:
        async with kiosk(board, cash, tmp_path / "j.db") as k:
            pay = k.desk.begin(300)
            await pin_inhibit(board, False)
            await insert(board, 100)
            await asyncio.to_thread(board.unplug)
            await until(lambda: not k.driver.health.up)
            await pin_inhibit(board, True)  # the firmware's safe state, on its own
            # the desk hears of it: the acceptor is out of service (no "insert coins")
            await until(lambda: (k.desk.poll(), "pulse" in k.desk.out_of_service)[1])
            await insert(board, 100)  # a coin already in flight as the link went
            await asyncio.to_thread(board.plug)
            await k.driver.wait_up(timeout=10)
            await until(lambda: (k.desk.poll(), "pulse" not in k.desk.out_of_service)[1])
            await pin_inhibit(board, False)  # the payment still wants coins: opened again
            await insert(board, 100)
            assert await asyncio.to_thread(pay.collect, 5)
            assert credits(k.journal) == [(100, 1), (100, 2), (100, 3)]
            pay.capture_fee()
            await asyncio.to_thread(pay.give_change)
            assert k.journal.balance(pay.tx).balanced
            faults = [e.detail for e in k.journal.entries() if e.kind == "device_fault"]
            assert [(f["code"], f["out_of_service"]) for f in faults] == [
                ("coprocessor link down: timeout", True)
            ]
            assert any(e.detail.get("event") == "back in service" for e in k.journal.entries())

    asyncio.run(main())


def test_a_coin_counted_while_no_host_runs_is_money_at_the_next_start(
    board: SimCoproc, cash: CashSim, tmp_path: Path
) -> None:
    path = tmp_path / "j.db"

    async def main() -> None:
        async with kiosk(board, cash, path) as k:
            pay = k.desk.begin(100)
            await pin_inhibit(board, False)
            await insert(board, 100)
            assert await asyncio.to_thread(pay.collect, 5)
            pay.capture_fee()
            await asyncio.to_thread(pay.give_change)
        await insert(board, 50)  # in flight as the host went down: the board keeps it
        async with kiosk(board, cash, path) as k:
            await until(lambda: (k.desk.poll(), len(credits(k.journal)))[1] == 2)
            assert credits(k.journal) == [(100, 1), (50, 2)]
            vouchers = [e for e in k.journal.entries() if e.kind == "voucher"]
            assert [v.amount for v in vouchers] == [50]  # no payment open: owed back
            assert all(b.balanced for b in k.journal.balances().values())

    asyncio.run(main())
