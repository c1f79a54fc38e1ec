"""Issue 20: after the host restarted and finished an interrupted session, the screen tells
the citizen who may still be standing there what came out, in their language, and reminds
them of it like any left item; what could not be printed waits for a clerk."""

from __future__ import annotations

from host.session import actions as A
from host.session import events as E
from host.session.demo import OPEN_TIME
from host.session.machine import SessionMachine
from host.session.states import State


def shown(actions: list[A.Action]) -> A.Show:
    return [a for a in actions if isinstance(a, A.Show)][-1]


def test_the_notice_says_what_came_out_in_the_sessions_language() -> None:
    m = SessionMachine(OPEN_TIME)
    assert m.state is State.IDLE
    out = m.handle(E.Recovered(certificates=2, given_back_yen=600, lang="en"))
    assert m.state is State.NOTICE
    view = shown(out).data
    assert view["notice"] == "interrupted" and view["lang"] == "en"
    assert (view["recovered_certificates"], view["recovered_yen"]) == (2, 600)
    assert any(isinstance(a, A.Record) and a.event == "recovered" for a in out)
    # acknowledged: the pages and the money are in the trays, so the reminder follows
    m.handle(E.NoticeAcknowledged())
    assert m.state is State.LEFT_BEHIND_SCREEN and m.items_left() == ["pages", "change"]
    m.handle(E.OutputTray(False))
    m.handle(E.ChangeTray(False))
    assert m.state is State.IDLE


def test_copies_it_could_not_print_wait_for_the_clerk() -> None:
    m = SessionMachine(OPEN_TIME)
    out = m.handle(E.Recovered(reprint=("N-1", "N-2"), lang="ja"))
    assert m.state is State.PRINT_FAILED and m.pending_reprint == ("N-1", "N-2")
    assert shown(out).data["reprint_pending"] == 2
    assert A.SoundAlarm(A.AlarmPattern.CALL_CLERK) in out


def test_out_of_service_kiosk_still_tells_the_citizen() -> None:
    m = SessionMachine(OPEN_TIME)
    m.handle(E.DeviceHealth(E.Device.CENTER, False))
    assert m.state is State.OUT_OF_SERVICE
    m.handle(E.Recovered(given_back_yen=1000))
    assert m.state is State.NOTICE
    m.handle(E.NoticeAcknowledged())
    assert m.state is State.LEFT_BEHIND_SCREEN and m.items_left() == ["change"]
