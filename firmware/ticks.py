"""Milliseconds on MicroPython's wrapping 2**30 tick counter, as plain ints: the link codec
and every task do their arithmetic with link_channel.ticks_diff on these values."""

import time

PERIOD = 1 << 30


def now() -> int:
    # the stubs model ticks as an opaque type; on the board they are small ints
    return time.ticks_ms()  # type: ignore[return-value]


def add(t: int, delta: int) -> int:
    return (t + delta) & (PERIOD - 1)
