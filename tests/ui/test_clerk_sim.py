"""Clerk mode on the simulation-mode screen: the recording executor records the clerk port's
actions, and the port's answers are injected as JSON like every other device result."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from host.session import actions as A
from host.session import events as E
from host.session.demo import OPEN_TIME
from host.session.pin import ClerkPin
from host.session.states import State
from sim.screen.dev_routes import sim_kiosk
from sim.screen.inject import InjectError, decode

STATUS = {
    "devices": [{"device": "printer", "ok": False, "reason": "paper_out"}],
    "hoppers": [{"name": "hopper3", "value": 100, "coins": 5, "capacity": 500, "level": "low"}],
    "cashbox": {"coins": {"100": 2}, "total": 200},
    "stacker": {"bills": {}, "total": 0},
    "collect_through": 4,
}


def test_clerk_actions_are_recorded_and_answers_injected() -> None:
    async def run() -> None:
        kiosk = sim_kiosk(lambda: OPEN_TIME)
        await kiosk.start()
        try:
            h = kiosk.runner.handle
            await h(E.ClerkRequested())
            await h(E.ClerkPinEntered(ClerkPin(b"999999")))
            await h(E.ClerkPinChecked(True))
            await h(decode({"type": "ClerkStatusRead", "status": STATUS}, kiosk.runner.machine))
            await h(E.ClerkMenu("refill"))
            await h(E.ClerkRefill("hopper3", 20))
            await kiosk.runner.settle()
            recorded = kiosk.executor.actions  # type: ignore[attr-defined]
            assert A.ReadClerkStatus() in recorded and A.RefillHopper("hopper3", 20) in recorded
            done = {"type": "ClerkDone", "op": "refill", "ok": True, "data": {"yen": 2000}}
            await h(decode(done, kiosk.runner.machine))
            assert kiosk.state is State.CLERK
            assert kiosk.hub.last["clerk_done"] == "refill_done"
            assert kiosk.hub.last["clerk_status"]["cashbox"]["total"] == 200
        finally:
            await kiosk.stop()

    asyncio.run(run())


def test_a_clerk_answer_that_is_not_an_object_is_a_typed_error() -> None:
    from host.session.machine import SessionMachine

    m = SessionMachine(datetime.fromisoformat("2026-11-23T10:00:00+09:00"))
    with pytest.raises(InjectError, match="object"):
        decode({"type": "ClerkStatusRead", "status": [1, 2]}, m)


@pytest.mark.parametrize(
    ("msg", "event"),
    [
        ({"event": "clerk_menu", "item": "collect"}, E.ClerkMenu("collect")),
        ({"event": "clerk_refresh"}, E.ClerkRefresh()),
        ({"event": "clerk_refill", "hopper": "hopper4", "coins": 50}, E.ClerkRefill("hopper4", 50)),
        ({"event": "clerk_collect", "through": 12}, E.ClerkCollect(12)),
        ({"event": "clerk_report_day", "day": "2026-11-22"}, E.ClerkReportDay("2026-11-22")),
        ({"event": "clerk_print_report"}, E.ClerkPrintReport()),
    ],
)
def test_clerk_touches_become_events(msg: dict[str, object], event: E.Event) -> None:
    from host.ui.touch import PinPad, parse

    assert parse(msg, PinPad(), clerk_pin=False) == event


@pytest.mark.parametrize(
    "msg",
    [
        {"event": "clerk_refill", "hopper": "hopper4", "coins": "50"},
        {"event": "clerk_refill", "hopper": "hopper4", "coins": True},
        {"event": "clerk_refill", "coins": 5},
        {"event": "clerk_collect", "through": 1.5},
        {"event": "clerk_menu"},
    ],
)
def test_malformed_clerk_touches_are_typed_errors(msg: dict[str, object]) -> None:
    from host.ui.touch import PinPad, UiInputError, parse

    with pytest.raises(UiInputError):
        parse(msg, PinPad(), clerk_pin=False)
