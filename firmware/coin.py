"""Pulse-train decoding for a pulse-output coin acceptor: edges in, coins or rejections out."""

import config
import link_codec as lc

COIN = 1
REJECT_COUNT = 1
REJECT_WIDTH = 2


class PulseDecoder:
    """Feed edges (level, ticks) from the pin IRQ; poll() ends a train after a quiet gap and
    returns (COIN, value, pulses), (0, reason, pulses) or None."""

    def __init__(self, table: dict[int, int], active: int) -> None:
        self.table = table
        self.active = active
        self._edges: list[tuple[int, int]] = []
        self._pulse_start = -1
        self._pulses = 0
        self._bad_width = False
        self._last_edge = 0
        self._in_train = False

    def edge(self, level: int, t: int) -> None:
        self._edges.append((level, t))

    def _process(self, level: int, t: int) -> None:
        if level == self.active:
            if self._pulse_start < 0:
                self._pulse_start = t
                self._in_train = True
        elif self._pulse_start >= 0:
            width = lc.ticks_diff(t, self._pulse_start)
            self._pulse_start = -1
            if width < config.PULSE_DEBOUNCE_MS:
                return  # bounce: neither a pulse nor a gap
            if width < config.PULSE_MIN_MS or width > config.PULSE_MAX_MS:
                self._bad_width = True
            self._pulses += 1
        self._last_edge = t

    def poll(self, now: int) -> "tuple[int, int, int] | None":
        edges = self._edges
        self._edges = []
        for level, t in edges:
            self._process(level, t)
        if not self._in_train:
            return None
        if self._pulse_start >= 0:
            if lc.ticks_diff(now, self._pulse_start) > config.PULSE_MAX_MS:
                self._bad_width = True  # stuck active: keep waiting for the release
            return None
        if lc.ticks_diff(now, self._last_edge) < config.TRAIN_GAP_MS:
            return None
        pulses = self._pulses
        bad = self._bad_width
        self._pulses = 0
        self._bad_width = False
        self._in_train = False
        if pulses == 0:
            return None
        if bad:
            return (0, REJECT_WIDTH, pulses)
        value = self.table.get(pulses)
        if value is None:
            return (0, REJECT_COUNT, pulses)
        return (COIN, value, pulses)
