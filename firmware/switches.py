"""Debounced level inputs (tray sensors, door switch): a change counts once stable."""

import link_channel as lch


class Debounced:
    def __init__(self, initial: int, stable_ms: int) -> None:
        self.state = initial
        self._candidate = initial
        self._since = 0
        self.stable_ms = stable_ms

    def sample(self, level: int, now: int) -> bool:
        """Feed one reading; True when the debounced state just changed."""
        if level != self._candidate:
            self._candidate = level
            self._since = now
            return False
        if level != self.state and lch.ticks_diff(now, self._since) >= self.stable_ms:
            self.state = level
            return True
        return False
