"""Service hours: 6:30-23:00 Japan time, never in a maintenance window (SPEC §3).

Decided in Asia/Tokyo whatever the machine's own time zone; naive datetimes are refused
rather than guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

TOKYO = ZoneInfo("Asia/Tokyo")
OPENS = time(6, 30)
CLOSES = time(23, 0)


class NaiveTimeError(ValueError):
    """A datetime without a time zone cannot say whether the kiosk is open."""


@dataclass(frozen=True)
class MaintenanceWindow:
    start: datetime  # aware
    end: datetime  # aware, exclusive

    def covers(self, when: datetime) -> bool:
        return self.start <= when < self.end


def is_year_end(day: date) -> bool:
    """29 December to 3 January: the year-end closure of the municipal systems."""
    return (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3)


def is_open(now: datetime, windows: tuple[MaintenanceWindow, ...] = ()) -> bool:
    if now.tzinfo is None or now.utcoffset() is None:
        raise NaiveTimeError("service hours need a timezone-aware datetime")
    local = now.astimezone(TOKYO)
    if is_year_end(local.date()):
        return False
    if not (OPENS <= local.time() < CLOSES):
        return False
    return not any(w.covers(now) for w in windows)


def next_opening(now: datetime, at: time = time(10, 0)) -> datetime:
    """The first ``at`` (Tokyo) at or after ``now`` on a day the kiosk opens.

    What a simulation or a test pins its clock to when it needs an open kiosk whatever the
    machine's clock says. Never earlier than ``now``: certificates made "now" (cards, the
    center's keys) are already valid then, and the day is a real, open one.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise NaiveTimeError("service hours need a timezone-aware datetime")
    if not OPENS <= at < CLOSES:
        raise ValueError(f"{at} is outside service hours")
    local = now.astimezone(TOKYO)
    day = local.date() if local.time() <= at else local.date() + timedelta(days=1)
    while is_year_end(day):
        day += timedelta(days=1)
    return datetime.combine(day, at, tzinfo=TOKYO)
