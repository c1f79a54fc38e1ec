"""Pulse-train decoding for a pulse-output coin acceptor.

Only falling edges are taken from the IRQ (with their tick time): a soft IRQ may run late,
and reading the pin level inside a late handler would miscount. The line level is sampled
by the polling task instead, which is enough to catch a line stuck active.
"""

import config
import link_channel as lch

COIN = 1
REJECT_COUNT = 1
REJECT_WIDTH = 2


class PulseDecoder:
    """edge(t) from the IRQ; poll(now, active) from a task every few ms returns the trains
    that ended: (COIN, value, pulses) or (0, reason, pulses)."""

    def __init__(self, table: dict[int, int]) -> None:
        self.table = table
        self._edges: list[int] = []
        self._pulses = 0
        self._bad = False
        self._last_edge = 0
        self._last_activity = 0  # last edge, or last poll that saw the line active
        self._active_since = -1

    def edge(self, t: int) -> None:
        self._edges.append(t)

    def _finish(self, out: list[tuple[int, int, int]]) -> None:
        pulses = self._pulses
        bad = self._bad
        self._pulses = 0
        self._bad = False
        if pulses == 0:
            return
        if bad:
            out.append((0, REJECT_WIDTH, pulses))
            return
        value = self.table.get(pulses)
        if value is None:
            out.append((0, REJECT_COUNT, pulses))
        else:
            out.append((COIN, value, pulses))

    def poll(self, now: int, active: bool) -> list[tuple[int, int, int]]:
        out: list[tuple[int, int, int]] = []
        edges = self._edges
        self._edges = []
        for t in edges:
            if self._pulses:
                since = lch.ticks_diff(t, self._last_edge)
                if since < config.PULSE_DEBOUNCE_MS:
                    continue  # contact bounce on the same pulse
                if lch.ticks_diff(t, self._last_activity) >= config.TRAIN_GAP_MS:
                    self._finish(out)  # the poll ran late: that edge starts a new train
                elif since < config.PULSE_MIN_PERIOD_MS:
                    self._bad = True  # pulses faster than any acceptor sends: noise
            self._pulses += 1
            self._last_edge = t
            self._last_activity = t
        if active:
            if self._pulses:
                self._last_activity = now
            if self._active_since < 0:
                self._active_since = now
            elif lch.ticks_diff(now, self._active_since) > config.PULSE_MAX_MS and self._pulses:
                self._bad = True  # line held active far longer than a pulse
            return out
        self._active_since = -1
        if self._pulses and lch.ticks_diff(now, self._last_activity) >= config.TRAIN_GAP_MS:
            self._finish(out)
        return out
