"""Guide LEDs and the status LED: steady or blinking, and the out-of-service pattern."""

from machine import Pin

OFF = 0
ON = 1
BLINK_SLOW = 2
BLINK_FAST = 3

CARD = 0
TRAY = 1
CHANGE = 2

_HALF_PERIOD = {BLINK_SLOW: 500, BLINK_FAST: 125}


class Leds:
    def __init__(self, guides: list[Pin], status: Pin) -> None:
        self.guides = guides
        self.status = status
        self.modes = [OFF, OFF, OFF]
        self.out_of_service = True

    def set(self, led: int, mode: int) -> bool:
        if led < 0 or led >= len(self.modes) or mode not in (OFF, ON, BLINK_SLOW, BLINK_FAST):
            return False
        self.modes[led] = mode
        return True

    def safe(self) -> None:
        """Out of service: guides dark, status LED blinking fast."""
        self.out_of_service = True
        self.modes = [OFF, OFF, OFF]

    @staticmethod
    def _level(mode: int, now: int) -> int:
        if mode == ON:
            return 1
        if mode == OFF:
            return 0
        return (now // _HALF_PERIOD[mode]) % 2

    def update(self, now: int) -> None:
        for i in range(len(self.guides)):
            self.guides[i].value(self._level(self.modes[i], now))
        self.status.value(self._level(BLINK_FAST if self.out_of_service else BLINK_SLOW, now))
