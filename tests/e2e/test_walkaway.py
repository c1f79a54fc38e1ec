"""Walking away: `kofu sim --timeout waiting=3 ...` (short timeouts), the citizen stops at
each waiting state and leaves (the card on the reader): the session ends by itself, money
comes back, and what is left behind escalates — screen, then voice, then the coprocessor's
alarm buzzer — until taken."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests.e2e.harness import Kiosk, SimProcess, Sims, needs_sim
from tests.e2e.test_sessions import to_step

pytestmark = needs_sim

WAIT_S = 3.0
FAST = (
    "--timeout", f"waiting={WAIT_S}", "--timeout", "thanks=1", "--timeout", "notice=2",
    "--timeout", "left_behind_screen=2", "--timeout", "left_behind_voice=2",
)  # fmt: skip


@pytest.fixture
def fast_sim(sims: Sims) -> SimProcess:
    return sims.get(*FAST)


# One walk-away per kind of waiting screen (the timeout rows of all waiting states are one
# generated table row, tested state by state in tests/session): before the card, at the
# PIN pad, at the fee; paying is the test after.
STEPS = ["language", "pin", "fee"]


@pytest.mark.parametrize("step", STEPS)
def test_walk_away(step: str, fast_sim: SimProcess, kiosk_on: Callable[..., Kiosk]) -> None:
    k = kiosk_on(fast_sim)
    to_step(k, step)
    t0 = time.monotonic()
    if step in ("language", "card"):
        k.on("idle", timeout=WAIT_S + 10)
    else:
        # the card stays on the reader: the kiosk says so
        k.on("left_behind_screen", timeout=WAIT_S + 10)
        assert k.page.locator('[data-testid="item-card"]').count() == 1
        fast_sim.act("remove_card")
        k.on("idle")
    assert time.monotonic() - t0 >= WAIT_S - 0.5, "ended before the timeout"


def test_walk_away_while_paying_refunds_and_escalates_to_the_alarm(
    fast_sim: SimProcess, kiosk_on: Callable[..., Kiosk]
) -> None:
    k = kiosk_on(fast_sim)
    before = fast_sim.outputs()
    to_step(k, "payment")
    k.insert(100)
    k.paid_so_far(100)
    # gone: the 100 yen goes to the change tray, the card stays on the reader
    k.on("refunding", "left_behind_screen", timeout=WAIT_S + 10)
    after = fast_sim.wait_outputs(
        lambda out: out["cash"]["paid_out"] - before["cash"]["paid_out"] >= 100
    )
    assert after["cash"]["paid_out"] - before["cash"]["paid_out"] == 100
    fast_sim.act("change_out")  # the coins land in the tray; nobody takes them
    k.on("left_behind_screen", timeout=20)
    assert after["coproc"]["buzzer"] == "off"
    spoken = len(fast_sim.voice())
    k.on("left_behind_voice", timeout=10)
    reminders = {"left_behind", "take_items", "take_card", "take_change"}
    deadline = time.monotonic() + 5
    while not reminders & set(fast_sim.voice()[spoken:]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert reminders & set(fast_sim.voice()[spoken:]), fast_sim.voice()[spoken:]
    k.on("left_behind_alarm", timeout=10)
    for item in ("card", "change"):
        assert k.page.locator(f'[data-testid="item-{item}"]').count() == 1, item
    alarm = fast_sim.wait_outputs(lambda out: out["coproc"]["buzzer"] != "off", timeout=10)
    assert alarm["coproc"]["buzzer"] == "reminder", alarm["coproc"]
    fast_sim.act("take_change")
    fast_sim.act("remove_card")
    k.on("idle", timeout=10)
    quiet = fast_sim.wait_outputs(lambda out: out["coproc"]["buzzer"] == "off", timeout=10)
    assert not quiet["coproc"]["buzzer_sounding"]
