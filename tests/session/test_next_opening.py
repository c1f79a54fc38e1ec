"""`next_opening`: the instant simulations and tests pin their clock to when they need an
open kiosk, whatever the machine's clock says."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest

from host.session.hours import TOKYO, NaiveTimeError, is_open, next_opening

NEW_YORK = timezone(timedelta(hours=-5))


def tokyo(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TOKYO)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (tokyo(2026, 11, 24, 0, 28), tokyo(2026, 11, 24, 10, 0)),
        (tokyo(2026, 11, 24, 10, 0), tokyo(2026, 11, 24, 10, 0)),
        (tokyo(2026, 11, 24, 10, 1), tokyo(2026, 11, 25, 10, 0)),
        (tokyo(2026, 11, 24, 23, 30), tokyo(2026, 11, 25, 10, 0)),
        # the year-end closure is skipped: 28 December 23:30 -> 4 January
        (tokyo(2026, 12, 28, 23, 30), tokyo(2027, 1, 4, 10, 0)),
        # decided in Tokyo: 20:00 in New York on the 23rd is 10:00 on the 24th in Tokyo
        (datetime(2026, 11, 23, 20, 0, tzinfo=NEW_YORK), tokyo(2026, 11, 24, 10, 0)),
    ],
)
def test_next_opening(now: datetime, expected: datetime) -> None:
    got = next_opening(now)
    assert got == expected
    assert got >= now
    assert is_open(got)


def test_next_opening_refuses_a_naive_time_and_a_closed_hour() -> None:
    with pytest.raises(NaiveTimeError):
        next_opening(datetime(2026, 11, 24, 10, 0))
    with pytest.raises(ValueError, match="outside service hours"):
        next_opening(tokyo(2026, 11, 24, 10, 0), at=time(23, 30))
