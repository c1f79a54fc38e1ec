"""The center's clock: Japan time, optionally shifted so tests and demos run "during hours".

Every rule that depends on the time (opening hours, maintenance, age, challenge and session
expiry, "usable from the day after") reads this one clock, so shifting it shifts them all
consistently across every worker process.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

JST = timezone(timedelta(hours=9), "JST")  # Japan has no daylight saving time
CLOCK_FILE = "clock.json"  # in the state directory: the clock the running center keeps


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

    def save(self, state_dir: Path) -> None:
        """Record this clock in the center's state directory, so that the admin commands read
        days ("today's ledger") by the clock that wrote the data, not the machine's."""
        path = state_dir / CLOCK_FILE
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"offset_s": self.offset_s}, fh)
        os.replace(tmp, path)

    @classmethod
    def of_state(cls, state_dir: Path) -> Clock:
        """The clock the center on this state directory runs by (the machine's if it never
        recorded one)."""
        try:
            data = json.loads((state_dir / CLOCK_FILE).read_text(encoding="utf-8"))
            return cls(offset_s=float(data["offset_s"]))
        except (OSError, ValueError, KeyError, TypeError):
            return cls()
