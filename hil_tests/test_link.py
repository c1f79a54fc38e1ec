"""Coprocessor link scenarios, on the simulator (default) or a real bench's port.

Scenarios that need a stimulus (a coin, a tray sensor, a stalled loop) drive the simulator's
control API; on a real bench without a stimulus rig they are skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest

from hil_tests.conftest import bench_section
from host.coproc import (
    BuzzerPattern,
    CoinInserted,
    CoinRejected,
    CoprocDriver,
    CoprocEvent,
    DoorChanged,
    Led,
    LedMode,
    LinkStatus,
    ResetCause,
    StatusReport,
    Tray,
    TrayChanged,
)
from sim.coproc import SimCoproc

T = TypeVar("T")


class Rig:
    def __init__(self, port: str, sim: SimCoproc | None) -> None:
        self.port = port
        self.sim = sim

    def need_sim(self) -> SimCoproc:
        if self.sim is None:
            pytest.skip("needs the simulator's stimulus (no stimulus rig on this bench)")
        return self.sim


@pytest.fixture
def rig(bench: dict[str, Any]) -> Iterator[Rig]:
    section = bench_section(bench, "coproc")
    if section.get("backend", "serial" if "port" in section else "sim") == "sim":
        with SimCoproc() as sim:
            yield Rig(sim.port, sim)
    else:
        yield Rig(str(section["port"]), None)


Scenario = Callable[[CoprocDriver, "asyncio.Queue[CoprocEvent]"], Awaitable[T]]


def run(rig: Rig, scenario: Scenario[T]) -> T:
    async def main() -> T:
        async with CoprocDriver(rig.port) as driver:
            events = driver.subscribe()
            await driver.wait_up(timeout=10)
            # drop the start-up health events; keep what came after the link went up
            backlog = [events.get_nowait() for _ in range(events.qsize())]
            ups = [i for i, e in enumerate(backlog) if isinstance(e, LinkStatus) and e.up]
            for event in backlog[ups[-1] + 1 :]:
                events.put_nowait(event)
            return await scenario(driver, events)

    return asyncio.run(main())


async def next_of(queue: asyncio.Queue[CoprocEvent], kind: type[T], timeout: float = 5.0) -> T:
    async with asyncio.timeout(timeout):
        while True:
            event = await queue.get()
            if isinstance(event, kind):
                return event


def test_handshake(rig: Rig) -> None:
    async def scenario(d: CoprocDriver, q: asyncio.Queue[CoprocEvent]) -> None:
        assert d.health.up and d.health.peer_fw.startswith("kofu-fw")
        assert d.health.peer_epoch != 0
        status = await next_of(q, StatusReport)  # sent first on every link-up
        assert status.coin_inhibited  # fail-safe until the host says otherwise
        report = await d.request_status()
        assert report.boot_id == status.boot_id

    run(rig, scenario)


@pytest.mark.parametrize("tray", [Tray.CERTIFICATE, Tray.CHANGE])
def test_tray_item_present_then_taken(rig: Rig, tray: Tray) -> None:
    sim = rig.need_sim()
    name = "certificate" if tray is Tray.CERTIFICATE else "change"

    async def scenario(d: CoprocDriver, q: asyncio.Queue[CoprocEvent]) -> None:
        sim.set_tray(name, True)
        assert await next_of(q, TrayChanged) == TrayChanged(tray, True)
        sim.set_tray(name, False)
        assert await next_of(q, TrayChanged) == TrayChanged(tray, False)

    run(rig, scenario)


def test_door_open_and_closed(rig: Rig) -> None:
    sim = rig.need_sim()

    async def scenario(d: CoprocDriver, q: asyncio.Queue[CoprocEvent]) -> None:
        sim.set_door(True)
        assert await next_of(q, DoorChanged) == DoorChanged(True)
        sim.set_door(False)
        assert await next_of(q, DoorChanged) == DoorChanged(False)

    run(rig, scenario)


def test_alarm_and_guide_led_commands(rig: Rig) -> None:
    sim = rig.need_sim()

    async def scenario(d: CoprocDriver, q: asyncio.Queue[CoprocEvent]) -> None:
        await d.service_mode(False)
        await d.buzzer(BuzzerPattern.ALARM)
        await d.led(Led.TRAY_GUIDE, LedMode.BLINK_FAST)
        await d.led(Led.CARD_GUIDE, LedMode.ON)
        st = await asyncio.to_thread(
            sim.wait_state,
            lambda s: s["buzzer"] == "alarm"
            and s["leds"]["tray"] == "blink_fast"
            and s["leds"]["status"] == "blink_slow",  # in service: a calm heartbeat
        )
        assert st["leds"]["card"] == "on" and st["leds"]["change"] == "off"
        await d.buzzer(BuzzerPattern.OFF)
        await asyncio.to_thread(sim.wait_state, lambda s: not s["buzzer_sounding"])

    run(rig, scenario)


def test_pulse_coin_and_rejected_train(rig: Rig) -> None:
    sim = rig.need_sim()

    async def scenario(d: CoprocDriver, q: asyncio.Queue[CoprocEvent]) -> None:
        await d.set_coin_inhibit(False)
        assert not (await asyncio.to_thread(sim.state))["inhibit"]
        sim.insert_coin(100)
        coin = await next_of(q, CoinInserted)
        assert (coin.value_yen, coin.counter) == (100, 1)
        sim.pulse_train(7)  # no coin is programmed for 7 pulses
        rejected = await next_of(q, CoinRejected)
        assert (rejected.pulses, rejected.counter) == (7, 2)
        sim.insert_coin(500)
        coin = await next_of(q, CoinInserted)
        assert (coin.value_yen, coin.counter) == (500, 3)

    run(rig, scenario)


def test_link_loss_puts_the_device_in_safe_state(rig: Rig) -> None:
    sim = rig.need_sim()

    async def scenario(d: CoprocDriver, q: asyncio.Queue[CoprocEvent]) -> None:
        await d.set_coin_inhibit(False)
        await d.service_mode(False)
        await d.buzzer(BuzzerPattern.REMINDER)
        await d.led(Led.CARD_GUIDE, LedMode.ON)
        await asyncio.to_thread(sim.wait_state, lambda s: s["leds"]["card"] == "on")
        await d.stop()  # the host goes silent
        st = await asyncio.to_thread(
            sim.wait_state,
            lambda s: s["inhibit"] and s["leds"]["status"] == "blink_fast",
            3.0,
        )
        assert st["leds"]["card"] == "off" and not st["buzzer_sounding"]

    run(rig, scenario)


def test_watchdog_reset_is_noticed_and_link_rehandshakes(rig: Rig) -> None:
    sim = rig.need_sim()

    async def scenario(d: CoprocDriver, q: asyncio.Queue[CoprocEvent]) -> None:
        first = d.health
        sim.stall(3.0)  # the main loop hangs; the watchdog must bite
        down = await next_of(q, LinkStatus, 5)
        assert not down.up
        while True:
            up = await next_of(q, LinkStatus, 8)
            if up.up:
                break
        assert up.peer_reset_cause is ResetCause.WATCHDOG
        assert up.peer_epoch != first.peer_epoch
        assert sim.watchdog_resets == 1
        status = await next_of(q, StatusReport)
        assert status.reset_cause is ResetCause.WATCHDOG and status.coin_inhibited

    run(rig, scenario)
