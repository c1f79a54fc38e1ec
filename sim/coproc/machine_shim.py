"""A `machine` module for running the unmodified firmware under CPython.

Pins, PWM, UART, Timer and WDT behave like MicroPython's on the RP2040 as far as the firmware
can tell; the simulator's control side (sim.coproc.runner) drives input levels and reads
outputs through the module-level `BOARD`. IRQ handlers run on the asyncio loop thread, as
MicroPython's soft IRQs run between bytecodes of the main program.
"""

from __future__ import annotations

import asyncio
import errno
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5

WATCHDOG_EXIT = 75  # exit status of the firmware process when its watchdog bites


class BoardState:
    """Everything outside the chip: input levels, output history, the link socket."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.inputs: dict[int, int] = {}
        self.outputs: dict[int, int] = {}
        self.toggles: dict[int, deque[float]] = {}
        self.pins: dict[int, Pin] = {}
        self.pwm: dict[int, tuple[int, int]] = {}  # pin -> (freq, duty_u16)
        self.tones: deque[tuple[float, int]] = deque(maxlen=64)  # (time, freq) when sounding
        self.link_sock: Any = None
        self.reset_cause = PWRON_RESET
        self.stall_until = 0.0
        self.wdt_fed = 0.0
        self.wdt_started = False
        self.irq_ticks: int | None = None
        self.on_watchdog: Callable[[], None] = lambda: os._exit(WATCHDOG_EXIT)

    def maybe_stall(self) -> None:
        """A requested stall blocks whichever firmware call comes next, like a hung loop."""
        delay = self.stall_until - time.monotonic()
        if delay > 0:
            self.stall_until = 0.0
            time.sleep(delay)

    def set_input(self, pin_id: int, level: int, at: int | None = None) -> None:
        """Drive an input; `at` (ticks) stamps the edge when the caller knows its exact time."""
        with self.lock:
            old = self.inputs.get(pin_id)
            self.inputs[pin_id] = level
            pin = self.pins.get(pin_id)
        if pin is not None and old != level:
            pin._edge(level, at)


    def set_input_edges(self, pin_id: int, edges: list[tuple[int, int]]) -> None:
        """A whole burst of timed edges (level, ticks) delivered as one: the firmware sees
        them all or none, however late the host schedules it."""
        with self.lock:
            self.inputs[pin_id] = edges[-1][0]
            pin = self.pins.get(pin_id)
        if pin is not None:
            pin._edges(edges)


BOARD = BoardState()
_START = time.monotonic()


def ticks_ms() -> int:
    """time.ticks_ms for the firmware. Inside an IRQ handler it reads the time of the edge:
    the RP2040 takes the IRQ within microseconds, while the simulator may run the handler a
    few milliseconds late on a busy machine, which would make pulses look like bounce."""
    frozen = BOARD.irq_ticks
    if frozen is not None:
        return frozen
    return int((time.monotonic() - _START) * 1000) & ((1 << 30) - 1)


def reset_cause() -> int:
    return BOARD.reset_cause


def unique_id() -> bytes:
    return b"\x4b\x4f\x46\x55\x53\x49\x4d\x31"


def reset() -> None:
    os._exit(0)


def soft_reset() -> None:
    os._exit(0)


def freq(hz: int | None = None) -> int:
    return 125_000_000


class Pin:
    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_FALLING = 4
    IRQ_RISING = 8

    def __init__(self, id: int, mode: int = -1, pull: int = -1, value: int | None = None) -> None:
        self.id = id
        self.mode = mode
        self.pull = pull
        self._handler: Callable[[Pin], None] | None = None
        self._trigger = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        with BOARD.lock:
            BOARD.pins[id] = self
            if mode == Pin.IN and id not in BOARD.inputs:
                BOARD.inputs[id] = 1 if pull == Pin.PULL_UP else 0
            if mode == Pin.OUT:
                BOARD.outputs.setdefault(id, 0 if value is None else value)

    def value(self, level: int | None = None) -> int:
        BOARD.maybe_stall()
        if level is None:
            with BOARD.lock:
                if self.mode == Pin.OUT:
                    return BOARD.outputs.get(self.id, 0)
                return BOARD.inputs.get(self.id, 0)
        level = 1 if level else 0
        with BOARD.lock:
            if BOARD.outputs.get(self.id) != level:
                BOARD.toggles.setdefault(self.id, deque(maxlen=8)).append(time.monotonic())
            BOARD.outputs[self.id] = level
        return level

    def on(self) -> None:
        self.value(1)

    def off(self) -> None:
        self.value(0)

    def __call__(self, level: int | None = None) -> int:
        return self.value(level)

    def irq(
        self, handler: Callable[[Pin], None] | None = None, trigger: int = 12, hard: bool = False
    ) -> None:
        self._handler = handler
        self._trigger = trigger
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None

    def _edge(self, level: int, at: int | None = None) -> None:
        wanted = Pin.IRQ_RISING if level else Pin.IRQ_FALLING
        handler = self._handler
        if handler is None or not (self._trigger & wanted):
            return
        if at is None:
            at = ticks_ms()
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._dispatch, handler, at)
        else:
            self._dispatch(handler, at)

    def _edges(self, edges: list[tuple[int, int]]) -> None:
        handler = self._handler
        if handler is None:
            return
        ats = [
            at
            for level, at in edges
            if self._trigger & (Pin.IRQ_RISING if level else Pin.IRQ_FALLING)
        ]
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._dispatch_all, handler, ats)
        else:
            self._dispatch_all(handler, ats)

    def _dispatch_all(self, handler: Callable[[Pin], None], ats: list[int]) -> None:
        for at in ats:
            self._dispatch(handler, at)

    def _dispatch(self, handler: Callable[[Pin], None], at: int) -> None:
        BOARD.irq_ticks = at
        try:
            handler(self)
        finally:
            BOARD.irq_ticks = None


class PWM:
    def __init__(self, pin: Pin, freq: int = 1000, duty_u16: int = 0) -> None:
        self.pin = pin
        self._freq = freq
        self._duty = duty_u16
        self._publish()

    def _publish(self) -> None:
        with BOARD.lock:
            BOARD.pwm[self.pin.id] = (self._freq, self._duty)
            if self._duty > 0:
                BOARD.tones.append((time.monotonic(), self._freq))

    def freq(self, value: int | None = None) -> int:
        if value is not None:
            self._freq = value
            self._publish()
        return self._freq

    def duty_u16(self, value: int | None = None) -> int:
        if value is not None:
            self._duty = value
            self._publish()
        return self._duty

    def deinit(self) -> None:
        self.duty_u16(0)


class UART:
    """The host link. Bytes go to a socket the simulator relays to a pty; like the RP2040's
    UART with a large rxbuf it never blocks: a full buffer drops bytes (the link retransmits)."""

    def __init__(self, id: int, baudrate: int = 115200, **kwargs: Any) -> None:
        self.id = id
        self.baudrate = baudrate
        self._pending = bytearray()

    def _fill(self) -> None:
        sock = BOARD.link_sock
        if sock is None:
            return
        while True:
            try:
                data = sock.recv(65536)
            except BlockingIOError:
                return
            except OSError:
                return
            if not data:
                return
            self._pending.extend(data)

    def any(self) -> int:
        BOARD.maybe_stall()
        self._fill()
        return len(self._pending)

    def read(self, n: int = -1) -> bytes | None:
        self._fill()
        if not self._pending:
            return None
        if n < 0:
            n = len(self._pending)
        data = bytes(self._pending[:n])
        del self._pending[:n]
        return data

    def write(self, buf: bytes) -> int:
        sock = BOARD.link_sock
        if sock is None:
            return 0
        try:
            return int(sock.send(bytes(buf)))
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                return 0
            return 0


class Timer:
    ONE_SHOT = 0
    PERIODIC = 1

    def __init__(self, id: int = -1, **kwargs: Any) -> None:
        self._stop = threading.Event()
        if kwargs:
            self.init(**kwargs)

    def init(
        self,
        mode: int = PERIODIC,
        period: int = 1000,
        freq: float | None = None,
        callback: Callable[[Timer], None] | None = None,
    ) -> None:
        self.deinit()
        self._stop = threading.Event()
        interval = 1.0 / freq if freq else period / 1000.0
        stop = self._stop
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None

        def run() -> None:
            while not stop.wait(interval):
                if callback is not None:
                    if loop is not None:
                        loop.call_soon_threadsafe(callback, self)
                    else:
                        callback(self)
                if mode == Timer.ONE_SHOT:
                    return

        threading.Thread(target=run, daemon=True, name="shim-timer").start()

    def deinit(self) -> None:
        self._stop.set()


class WDT:
    """Resets the chip (ends the firmware process) when not fed within `timeout` ms."""

    def __init__(self, id: int = 0, timeout: int = 5000) -> None:
        self.timeout = min(timeout, 8388) / 1000.0  # the RP2040's limit
        BOARD.wdt_fed = time.monotonic()
        if not BOARD.wdt_started:
            BOARD.wdt_started = True
            threading.Thread(target=self._watch, daemon=True, name="shim-wdt").start()

    def _watch(self) -> None:
        while True:
            time.sleep(0.02)
            if time.monotonic() - BOARD.wdt_fed > self.timeout:
                BOARD.on_watchdog()
                return

    def feed(self) -> None:
        BOARD.wdt_fed = time.monotonic()
