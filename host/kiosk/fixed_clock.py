"""A wall clock that starts at a chosen instant and runs at real speed (sim and tests: a
session at 10:00 Tokyo whatever the machine's time)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from host.session.hours import TOKYO


def running_from(start: datetime) -> Callable[[], datetime]:
    if start.tzinfo is None:
        start = start.replace(tzinfo=TOKYO)
    t0 = time.monotonic()

    def now() -> datetime:
        return start + timedelta(seconds=time.monotonic() - t0)

    return now
