"""Firmware building blocks under CPython: pulse trains, debouncing, buzzer patterns.
The modules are imported from firmware/ exactly as the board runs them."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from sim.coproc import machine_shim, runner

FW_MODULES = (
    *("board", "config", "coin", "switches", "buzzer", "leds", "ticks"),
    *("link_frame", "link_channel", "link_catalog"),
)


@pytest.fixture
def fw() -> Iterator[dict[str, ModuleType]]:
    saved_path = list(sys.path)
    saved = {name: sys.modules.get(name) for name in (*FW_MODULES, "machine", "micropython")}
    runner.install_micropython_runtime()
    import importlib

    mods = {name: importlib.import_module(name) for name in FW_MODULES}
    yield mods
    sys.path[:] = saved_path
    for name, mod in saved.items():
        if mod is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = mod


class Line:
    """A coin pulse line sampled like the firmware does: falling edges to the IRQ, the level
    to poll() every 10 ms."""

    def __init__(self, decoder: Any) -> None:
        self.decoder = decoder
        self.t = 0
        self.results: list[tuple[int, int, int]] = []

    def hold(self, active: bool, ms: int) -> None:
        end = self.t + ms
        while self.t < end:
            step = min(10, end - self.t)
            self.t += step
            self.results += self.decoder.poll(self.t, active)

    def train(self, count: int, width: int = 30, gap: int = 30) -> None:
        for _ in range(count):
            self.decoder.edge(self.t)
            self.hold(True, width)
            self.hold(False, gap)


def test_pulse_trains_become_coins(fw: dict[str, ModuleType]) -> None:
    coin, config = fw["coin"], fw["config"]
    for pulses, yen in config.COIN_PULSES.items():
        line = Line(coin.PulseDecoder(config.COIN_PULSES))
        line.hold(False, 500)
        line.train(pulses)
        assert line.results == []  # the train is not over yet
        line.hold(False, config.TRAIN_GAP_MS)
        assert line.results == [(coin.COIN, yen, pulses)]
        line.hold(False, 1000)
        assert len(line.results) == 1


def test_back_to_back_coins_are_two_trains(fw: dict[str, ModuleType]) -> None:
    coin, config = fw["coin"], fw["config"]
    dec = coin.PulseDecoder(config.COIN_PULSES)
    for t in (0, 60, 500, 560, 620):  # a late poll sees both trains at once
        dec.edge(t)
    assert dec.poll(1000, False) == [(coin.COIN, 50, 2), (coin.COIN, 100, 3)]


def test_out_of_range_trains_are_rejected(fw: dict[str, ModuleType]) -> None:
    coin, config = fw["coin"], fw["config"]
    line = Line(coin.PulseDecoder(config.COIN_PULSES))
    line.train(7)  # no coin has 7 pulses
    line.hold(False, 200)
    assert line.results == [(0, coin.REJECT_COUNT, 7)]
    line.results.clear()
    line.train(2, width=config.PULSE_MAX_MS + 40)  # the line held far too long
    line.hold(False, 200)
    assert line.results == [(0, coin.REJECT_WIDTH, 2)]
    line.results.clear()
    line.train(3, width=5, gap=10)  # far faster than the acceptor pulses: noise
    line.hold(False, 200)
    assert line.results == [(0, coin.REJECT_WIDTH, 3)]


def test_contact_bounce_is_not_a_pulse(fw: dict[str, ModuleType]) -> None:
    coin, config = fw["coin"], fw["config"]
    dec = coin.PulseDecoder(config.COIN_PULSES)
    for t in (100, 101, 160, 162, 220):  # two pulses bounce on their falling edge
        dec.edge(t)
    assert dec.poll(400, False) == [(coin.COIN, config.COIN_PULSES[3], 3)]


def test_switch_debounce(fw: dict[str, ModuleType]) -> None:
    deb = fw["switches"].Debounced(0, 30)
    assert not deb.sample(1, 0)
    assert not deb.sample(0, 5)  # bounced back: no change
    assert not deb.sample(1, 10)
    assert not deb.sample(1, 30)
    assert deb.sample(1, 41) and deb.state == 1
    assert not deb.sample(1, 100)


def test_buzzer_alarm_alternates_tones_until_silenced(fw: dict[str, ModuleType]) -> None:
    buzzer = fw["buzzer"]
    pwm = machine_shim.PWM(machine_shim.Pin(15, machine_shim.Pin.OUT))
    bz = buzzer.Buzzer(pwm)
    bz.play(buzzer.ALARM, 0, 0)
    heard = set()
    for t in range(0, 2000, 5):
        bz.update(t)
        if pwm.duty_u16() > 0:
            heard.add(pwm.freq())
    assert heard == {2500, 2000}
    bz.play(buzzer.OFF, 0, 2000)
    bz.update(2005)
    assert pwm.duty_u16() == 0


def test_chime_plays_once_and_timed_patterns_stop(fw: dict[str, ModuleType]) -> None:
    buzzer = fw["buzzer"]
    pwm = machine_shim.PWM(machine_shim.Pin(15, machine_shim.Pin.OUT))
    bz = buzzer.Buzzer(pwm)
    bz.play(buzzer.CHIME, 0, 0)
    for t in range(0, 1000, 5):
        bz.update(t)
    assert bz.pattern == buzzer.OFF and pwm.duty_u16() == 0
    bz.play(buzzer.REMINDER, 2, 0)
    for t in range(0, 2100, 5):
        bz.update(t)
    assert bz.pattern == buzzer.OFF


def test_leds_out_of_service_pattern(fw: dict[str, ModuleType]) -> None:
    leds = fw["leds"]
    pins = [machine_shim.Pin(n, machine_shim.Pin.OUT) for n in (10, 11, 12, 25)]
    bank = leds.Leds(pins[:3], pins[3])
    bank.set(leds.CARD, leds.ON)
    bank.safe()
    levels = set()
    for t in range(0, 1000, 25):
        bank.update(t)
        assert [p.value() for p in pins[:3]] == [0, 0, 0]
        levels.add(pins[3].value())
    assert levels == {0, 1}
    assert not bank.set(7, leds.ON) and not bank.set(0, 9)
