"""`kofu sim --timeout STATE=SECONDS`: parsed with typed errors, expanded, and written into
the `[session.timeouts]` the kiosk reads (no simulation started)."""

from __future__ import annotations

import argparse
import tomllib

import pytest

from host.session.config import session_config
from host.session.states import CITIZEN_WAITING, DEFAULT_TIMEOUTS, State
from sim.whole import dump_toml, expand_timeouts, state_timeout


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
