"""The center's clock: Japan time, optionally shifted so tests and demos run "during hours".

Every rule that depends on the time (opening hours, maintenance, age, challenge and session
expiry, "usable from the day after") reads this one clock, so shifting it shifts them all
consistently across every worker process.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

JST = timezone(timedelta(hours=9), "JST")  # Japan has no daylight saving time


@dataclass(frozen=True)
class Clock:
    offset_s: float = 0.0  # added to the real time; computed once in the parent process

    @classmethod
    def starting_at(cls, instant: datetime) -> Clock:
        return cls(offset_s=instant.timestamp() - time.time())

    def now(self) -> datetime:
        """Aware UTC datetime."""
        return datetime.fromtimestamp(time.time() + self.offset_s, UTC)

    def now_jst(self) -> datetime:
        return self.now().astimezone(JST)

    def today(self) -> date:
        """Today in Japan: the date every date rule uses."""
        return self.now_jst().date()
