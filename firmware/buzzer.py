"""Alarm buzzer patterns on a PWM pin. Each pattern is (frequency Hz, on ms, off ms) steps;
the frequencies differ per pattern so a listener (or the simulator) can tell them apart."""

import link_channel as lch
import ticks
from machine import PWM

OFF = 0
CHIME = 1
REMINDER = 2
ALARM = 3
ERROR = 4

PATTERNS = {
    CHIME: ((880, 150, 40), (660, 300, 0)),
    REMINDER: ((1000, 200, 800),),
    ALARM: ((2500, 250, 0), (2000, 250, 0)),
    ERROR: ((400, 500, 500),),
}
ONCE = (CHIME,)


class Buzzer:
    def __init__(self, pwm: PWM) -> None:
        self.pwm = pwm
        self.pattern = OFF
        self._until = 0
        self._timed = False
        self._step = 0
        self._step_at = 0
        self._sounding = False
        self.silence()

    def silence(self) -> None:
        self.pwm.duty_u16(0)
        self._sounding = False

    def play(self, pattern: int, seconds: int, now: int) -> None:
        if pattern not in PATTERNS:
            pattern = OFF
        self.pattern = pattern
        self._timed = seconds > 0
        self._until = ticks.add(now, seconds * 1000)
        self._step = 0
        self._step_at = now
        self.silence()

    def update(self, now: int) -> None:
        """Advance the pattern; called every few milliseconds by the buzzer task."""
        if self.pattern == OFF:
            return
        if self._timed and lch.ticks_diff(now, self._until) >= 0:
            self.play(OFF, 0, now)
            return
        steps = PATTERNS[self.pattern]
        freq, on_ms, off_ms = steps[self._step]
        elapsed = lch.ticks_diff(now, self._step_at)
        if elapsed < on_ms:
            if not self._sounding:
                self.pwm.freq(freq)
                self.pwm.duty_u16(32768)
                self._sounding = True
        elif elapsed < on_ms + off_ms:
            if self._sounding:
                self.silence()
        else:
            self._step += 1
            self._step_at = now
            self._sounding = False  # the next step sets its own frequency
            if self._step >= len(steps):
                if self.pattern in ONCE:
                    self.play(OFF, 0, now)
                    return
                self._step = 0
