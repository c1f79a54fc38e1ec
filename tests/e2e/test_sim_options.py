"""`kofu sim --timeout STATE=SECONDS`: parsed with typed errors, expanded, and written into
the `[session.timeouts]` the kiosk reads (no simulation started)."""

from __future__ import annotations

import argparse
import tomllib
from datetime import date, datetime

import pytest

from host.session.config import session_config
from host.session.hours import TOKYO
from host.session.states import CITIZEN_WAITING, DEFAULT_TIMEOUTS, State
from sim.whole import (
    auto_clock,
    clock_line,
    dump_toml,
    expand_timeouts,
    parse_now,
    state_timeout,
)


def test_timeouts_expand_and_reach_the_session_config() -> None:
    pairs = [state_timeout("waiting=3"), state_timeout("thanks=0.5"), state_timeout("pin=7")]
    timeouts = expand_timeouts(pairs)
    assert timeouts["pin"] == 7.0  # a later pair wins over "waiting"
    assert {s.value for s in CITIZEN_WAITING} <= set(timeouts)
    written = tomllib.loads(dump_toml({"session": {"timeouts": timeouts}}))
    config = session_config(written["session"])
    assert config.timeouts[State.PAYMENT] == 3.0
    assert config.timeouts[State.THANKS] == 0.5
    assert config.timeouts[State.PRINTING] == DEFAULT_TIMEOUTS[State.PRINTING]


@pytest.mark.parametrize(
    "text", ["pin", "pin=", "pin=0", "pin=-1", "pin=nan", "pin=inf", "idle=3", "nosuch=3"]
)
def test_bad_timeouts_are_refused_with_the_reason(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as err:
        state_timeout(text)
    assert text.split("=")[0] in str(err.value)


@pytest.mark.parametrize(
    ("now", "pinned"),
    [
        (datetime(2026, 11, 24, 12, 0, tzinfo=TOKYO), None),  # open now and in an hour
        (datetime(2026, 11, 24, 22, 30, tzinfo=TOKYO), datetime(2026, 11, 25, 10, tzinfo=TOKYO)),
        (datetime(2026, 11, 24, 0, 28, tzinfo=TOKYO), datetime(2026, 11, 24, 10, tzinfo=TOKYO)),
        (datetime(2026, 12, 30, 12, 0, tzinfo=TOKYO), datetime(2027, 1, 4, 10, tzinfo=TOKYO)),
    ],
)
def test_a_sim_started_while_closed_runs_from_the_next_opening(
    now: datetime, pinned: datetime | None
) -> None:
    assert auto_clock(now) == pinned
    line = clock_line(pinned)
    assert ("machine's" in line) if pinned is None else ("(open)" in line)


def test_now_takes_an_instant_or_a_time_today_in_tokyo() -> None:
    today = date(2026, 11, 24)
    assert parse_now("23:30", today) == datetime(2026, 11, 24, 23, 30, tzinfo=TOKYO)
    assert parse_now("2026-11-25T06:00:00+09:00", today) == datetime(
        2026, 11, 25, 6, 0, tzinfo=TOKYO
    )
    assert parse_now("2026-11-25T06:00", today).tzinfo is TOKYO  # naive: Tokyo time
    assert "closed" in clock_line(parse_now("23:30", today))
    with pytest.raises(ValueError):
        parse_now("25:00", today)
