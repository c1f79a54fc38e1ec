"""The host driver against the simulated coprocessor: faults on the line, cable pulls,
mismatched builds, and the coin-event bookkeeping."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from host.coproc import (
    CoinEventsLost,
    CoinInserted,
    CoprocDriver,
    CoprocEvent,
    Led,
    LedMode,
    LinkDownError,
    LinkStatus,
)
from protocol import link_catalog as lcat
from sim.coproc import SimCoproc
from sim.coproc.faultline import FaultLine, Faults


@pytest.fixture
def sim() -> Iterator[SimCoproc]:
    with SimCoproc() as s:
        yield s


async def coins(queue: asyncio.Queue[CoprocEvent], n: int, timeout: float) -> list[CoprocEvent]:
    got: list[CoprocEvent] = []
    async with asyncio.timeout(timeout):
        while sum(isinstance(e, CoinInserted) for e in got) < n:
            event = await queue.get()
            if isinstance(event, CoinInserted | CoinEventsLost):
                got.append(event)
    return got


def test_noisy_line_and_cuts_deliver_every_coin_exactly_once(sim: SimCoproc) -> None:
    faults = Faults(drop=0.05, flip=0.1, garbage=0.1, delay_s=0.003)

    async def main() -> None:
        with FaultLine(sim.port, faults, seed=7) as line:
            async with CoprocDriver(line.port) as d:
                q = d.subscribe()
                await d.wait_up(timeout=15)
                await d.set_coin_inhibit(False, timeout=5)
                for _ in range(4):
                    sim.insert_coin(100)
                    await d.led(Led.CARD_GUIDE, LedMode.BLINK_SLOW, timeout=5)
                    await asyncio.sleep(0.6)  # an acceptor takes about two coins a second
                got = await coins(q, 4, timeout=10)
                line.faults = Faults()  # a clean line around a short cut...
                await asyncio.sleep(0.3)
                await d.wait_up()  # (25% damaged frames may have cost a session: fine)
                session = d.health.peer_epoch
                line.cut()  # ...shorter than the link timeout: the session survives
                sim.insert_coin(50)
                await asyncio.sleep(0.15)
                line.restore()
                got += await coins(q, 1, timeout=5)
                assert d.health.up and d.health.peer_epoch == session
                line.faults = faults
                line.cut()  # long enough to lose the link: safe state, re-handshake
                await asyncio.sleep(1.5)
                sim.insert_coin(500)  # the acceptor still pulses a coin already in flight
                await asyncio.sleep(0.5)
                line.restore()
                got += await coins(q, 1, timeout=10)
                assert d.health.peer_epoch != session
                assert not any(isinstance(e, CoinEventsLost) for e in got)
                values = [e.value_yen for e in got if isinstance(e, CoinInserted)]
                counters = [e.counter for e in got if isinstance(e, CoinInserted)]
                assert values == [100, 100, 100, 100, 50, 500]
                assert counters == [1, 2, 3, 4, 5, 6]
                await asyncio.sleep(0.5)
                assert q.empty() or not any(
                    isinstance(q.get_nowait(), CoinInserted) for _ in range(q.qsize())
                )
                assert line.stats["flipped"] + line.stats["garbage"] > 0
                assert line.stats["cut_bytes"] > 0
                chip = await asyncio.to_thread(sim.link_info)
                rejected = [
                    n
                    for stats in (d.channel.stats, chip["stats"])
                    for key, n in stats.items()
                    if key in ("rx_crc", "rx_cobs", "rx_short", "rx_too_long")
                ]
                assert sum(rejected) > 0  # the damage was seen, and none of it delivered

    asyncio.run(main())


def test_driver_reopens_the_port_after_the_cable_is_pulled(sim: SimCoproc) -> None:
    async def main() -> None:
        async with CoprocDriver(sim.port, reopen_s=0.1) as d:
            q = d.subscribe()
            await d.wait_up()
            epoch = d.health.peer_epoch
            sim.unplug()
            sim.plug()  # back within the link timeout: the session goes on
            await asyncio.sleep(0.5)
            await d.led(Led.TRAY_GUIDE, LedMode.ON)
            assert d.health.up and d.health.peer_epoch == epoch
            sim.unplug()
            async with asyncio.timeout(5):
                while d.health.up or d.health.port_open:
                    await q.get()
            sim.plug()
            await d.wait_up(timeout=5)
            assert d.health.port_open and d.health.peer_epoch != epoch
            await d.led(Led.TRAY_GUIDE, LedMode.OFF)

    asyncio.run(main())


def test_mismatched_catalog_refuses_with_a_clear_error(sim: SimCoproc) -> None:
    async def main() -> None:
        async with CoprocDriver(sim.port, catalog_hash=lcat.CATALOG_HASH ^ 0xFF) as d:
            with pytest.raises(LinkDownError, match="catalog"):
                await d.wait_up(timeout=2)
            assert not d.health.up and "catalog" in d.health.refused
            with pytest.raises(LinkDownError, match="catalog"):
                await d.set_coin_inhibit(False, timeout=1)
        state = await asyncio.to_thread(sim.state)
        assert state["inhibit"]  # the firmware refused too and stays safe

    asyncio.run(main())


def test_coin_events_are_deduplicated_and_gaps_reported() -> None:
    async def main() -> None:
        d = CoprocDriver("/nonexistent")
        q = d.subscribe()
        status = lcat.encode_message(lcat.MSG_STATUS, (1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 42))
        d._on_message(lcat.MSG_STATUS, status)
        for counter in (1, 2, 2, 1, 5):
            d._on_message(lcat.MSG_COIN, lcat.encode_message(lcat.MSG_COIN, (100, 3, counter)))
        d._on_message(lcat.MSG_COIN, b"\x01")  # malformed: logged, dropped, no crash
        d._on_message(0x7E, b"")  # unknown id
        events = [q.get_nowait() for _ in range(q.qsize())]
        kinds = [(type(e).__name__, getattr(e, "counter", getattr(e, "missing", None)))
                 for e in events if not isinstance(e, LinkStatus)]
        assert kinds == [
            ("StatusReport", None),
            ("CoinInserted", 1),
            ("CoinInserted", 2),
            ("CoinEventsLost", 2),
            ("CoinInserted", 5),
        ]
        assert d.duplicates_dropped == 2
        # a new boot restarts the counter: 1 is fresh again
        d._on_message(lcat.MSG_STATUS, status[:-4] + b"\x07\x00\x00\x00")
        d._on_message(lcat.MSG_COIN, lcat.encode_message(lcat.MSG_COIN, (10, 1, 1)))
        assert isinstance(events := [q.get_nowait() for _ in range(q.qsize())][-1], CoinInserted)
        assert events.boot_id == 7

    asyncio.run(main())


def test_every_acceptor_is_locked_while_no_host_is_linked(sim: SimCoproc) -> None:
    """Issue 20: while the host is down nothing takes money. The coprocessor holds the
    inhibit-all lines of the serial acceptors (ccTalk coin acceptor, bill validator) as well
    as the pulse acceptor's while no host is linked, and lets them go once one is."""

    async def main() -> None:
        before = await asyncio.to_thread(sim.wait_state, lambda st: st["acceptors_locked"], 10.0)
        assert before["acceptors_locked"] and before["inhibit"]  # no host yet
        with FaultLine(sim.port, Faults(), seed=1) as line:
            async with CoprocDriver(line.port) as d:
                await d.wait_up(timeout=15)
                linked = await asyncio.to_thread(
                    sim.wait_state, lambda st: not st["acceptors_locked"], 5.0
                )
                assert linked["inhibit"]  # the pulse acceptor stays the host's to open
                line.cut()  # the host goes away (dies, or its cable does)
                lost = await asyncio.to_thread(
                    sim.wait_state, lambda st: st["acceptors_locked"], 10.0
                )
                assert lost["inhibit"]
                line.restore()
                await d.wait_up(timeout=15)
                await asyncio.to_thread(sim.wait_state, lambda st: not st["acceptors_locked"], 5.0)

    asyncio.run(main())
