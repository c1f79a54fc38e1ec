"""kiosk.toml's [session] table: good settings load, each bad one is a clear typed error."""

from __future__ import annotations

import tomllib
from datetime import timedelta

import pytest

from host.session import events as E
from host.session.config import ConfigError, session_config
from host.session.demo import OPEN_TIME
from host.session.machine import SessionMachine
from host.session.states import DEFAULT_TIMEOUTS, State

GOOD = """
[session]
max_copies = 5
languages = ["ja", "en"]
[session.timeouts]
payment = 90
card = 45.5
[[session.maintenance]]
start = 2026-11-24T09:00:00+09:00
end = 2026-11-24T11:00:00+09:00
"""


def test_good_table_loads_and_drives_the_machine() -> None:
    cfg = session_config(tomllib.loads(GOOD)["session"])
    assert cfg.max_copies == 5 and cfg.languages == ("ja", "en")
    assert cfg.timeouts[State.PAYMENT] == 90 and cfg.timeouts[State.CARD] == 45.5
    assert cfg.timeouts[State.PIN] == DEFAULT_TIMEOUTS[State.PIN]
    m = SessionMachine(OPEN_TIME - timedelta(hours=2), cfg)  # 8:00, before the window
    assert m.state is State.IDLE
    m.handle(E.Tick(OPEN_TIME))  # 10:00, inside it
    assert m.state is State.CLOSED


def test_empty_table_gives_defaults() -> None:
    cfg = session_config(None)
    assert cfg.max_copies == 10 and cfg.maintenance == ()


@pytest.mark.parametrize(
    ("toml", "where"),
    [
        ("bogus = 1", "unknown keys"),
        ("max_copies = 0", "session.max_copies"),
        ("max_copies = true", "session.max_copies"),
        ('languages = ["en", "ja"]', "session.languages"),
        ('languages = ["ja", "fr"]', "session.languages"),
        ("timeouts = 3", "session.timeouts"),
        ("[timeouts]\nidle = 5", "session.timeouts.idle"),
        ("[timeouts]\nnowhere = 5", "session.timeouts.nowhere"),
        ("[timeouts]\npayment = -1", "session.timeouts.payment"),
        ("[[maintenance]]\nstart = 2026-12-01T01:00:00", "session.maintenance[0]"),
        (
            "[[maintenance]]\nstart = 2026-12-01T01:00:00\nend = 2026-12-01T02:00:00",
            "session.maintenance[0].start",
        ),
        (
            "[[maintenance]]\nstart = 2026-12-01T03:00:00Z\nend = 2026-12-01T02:00:00Z",
            "end must be after start",
        ),
    ],
)
def test_bad_settings_name_their_key(toml: str, where: str) -> None:
    with pytest.raises(ConfigError, match=where.replace("[", r"\[").replace("]", r"\]")):
        session_config(tomllib.loads(toml))
