"""The pulse coin acceptor fed by coprocessor coin events (value, per-boot counter)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from drivers.coin.interfaces import Credit, DeviceReset, Fault, Rejected
from drivers.coin.pulse_acceptor import PulseCoinAcceptor
from host.payment.config import CashConfig, HopperConfig
from host.payment.desk import CashDesk
from host.payment.devices import open_devices
from host.payment.journal import Journal
from sim.cash.server import CashSim


class Source:
    def __init__(self, events: list[tuple[int, int]]) -> None:
        self._events = events
        self.inhibit_calls: list[bool] = []

    async def events(self) -> AsyncIterator[tuple[int, int]]:
        for ev in self._events:
            await asyncio.sleep(0)
            yield ev

    def set_inhibit(self, inhibited: bool) -> None:
        self.inhibit_calls.append(inhibited)


def run(acceptor: PulseCoinAcceptor) -> None:
    asyncio.run(acceptor.run())


def test_events_become_credits_once() -> None:
    source = Source([(100, 1), (100, 1), (500, 2), (10, 5), (100, 2), (50, 6)])
    acc = PulseCoinAcceptor(source)
    run(acc)
    events = acc.poll()
    assert [e.value for e in events if isinstance(e, Credit)] == [100, 500, 10, 50]
    assert Fault("pulse", "lost 2 events", False, 5) in events
    assert acc.poll() == []


def test_a_coprocessor_reboot_restarts_the_count() -> None:
    acc = PulseCoinAcceptor(Source([]))
    acc.feed(100, 7)
    acc.coprocessor_rebooted()
    acc.feed(500, 1)
    acc.feed(500, 1)  # retransmitted
    events = acc.poll()
    assert [e.value for e in events if isinstance(e, Credit)] == [100, 500]
    assert DeviceReset("pulse") in events


def test_resume_after_the_journal_counter_skips_known_events() -> None:
    acc = PulseCoinAcceptor(Source([(100, 3), (100, 4)]))
    acc.resume_after(3)
    run(acc)
    assert [e.counter for e in acc.poll() if isinstance(e, Credit)] == [4]


def test_one_inhibit_line_for_all_coins() -> None:
    source = Source([])
    acc = PulseCoinAcceptor(source, frozenset({100, 500}))
    acc.start()
    acc.set_enabled(frozenset({100, 500}))
    acc.set_enabled(frozenset({100}))  # cannot refuse only the 500: inhibit all
    assert source.inhibit_calls == [True, False, True]


def test_unknown_values_are_faults_not_money() -> None:
    acc = PulseCoinAcceptor(Source([(5, 1)]))
    run(acc)
    assert acc.poll() == [Fault("pulse", "unknown coin value 5", False, 1)]


def test_payment_with_pulse_coins_and_ccTalk_hoppers(tmp_path: Path) -> None:
    source = Source([(500, 1)])
    with CashSim() as sim:
        cfg = CashConfig(
            coin_acceptor="pulse",
            hoppers=(HopperConfig(3, 100, 50), HopperConfig(4, 500, 20)),
            cctalk_port=sim.cctalk_path,
            poll_interval_s=0.01,
            hopper_poll_s=0.005,
        )
        devices = open_devices(cfg, source)
        journal = Journal(tmp_path / "j.db")
        desk = CashDesk(journal, devices, cfg)
        desk.start()
        pay = desk.begin(300)
        assert source.inhibit_calls[-1] is False
        assert isinstance(devices.acceptor, PulseCoinAcceptor)
        run(devices.acceptor)
        assert pay.collect(timeout_s=1)
        pay.capture_fee()
        assert pay.give_change().paid == 200
        assert sim.hoppers[3].paid_total == 2
        assert journal.last_counter("pulse") == 1
        devices.close()
        journal.close()


def test_a_rejected_pulse_train_keeps_the_count_and_is_no_money() -> None:
    acc = PulseCoinAcceptor(Source([(100, 1), (0, 2), (100, 3)]))
    run(acc)
    events = acc.poll()
    assert [e.value for e in events if isinstance(e, Credit)] == [100, 100]
    assert Rejected("pulse", "coin rejected", 2) in events
    assert not any(isinstance(e, Fault) for e in events)  # no gap seen
