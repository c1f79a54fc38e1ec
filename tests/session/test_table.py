"""The whole transition table: every row runs, every other event is ignored, every waiting
state has its timeout, cancel and health rows."""

from __future__ import annotations

import pytest

from documents.model import CertificateType, JuminhyoOption
from host.session import actions as A
from host.session import events as E
from host.session.demo import CLOSED_TIME, OPEN_TIME, demo_documents, demo_menu, machine_at
from host.session.machine import SessionMachine
from host.session.pin import ClerkPin, Pin
from host.session.states import (
    CANCELLABLE,
    CITIZEN_WAITING,
    DEFAULT_TIMEOUTS,
    IN_SESSION,
    RESTING,
    State,
)
from host.session.table import TABLE, build_table


def sample(event_type: type[E.Event], m: SessionMachine) -> E.Event:
    """A representative, valid-looking event of each type."""
    samples: dict[type[E.Event], E.Event] = {
        E.StartPressed: E.StartPressed(),
        E.LanguageChosen: E.LanguageChosen("en"),
        E.PinEntered: E.PinEntered(Pin(b"1111")),
        E.CertificateChosen: E.CertificateChosen(CertificateType.INKAN),
        E.SubjectsChosen: E.SubjectsChosen(("m1", "m2")),
        E.OptionsChosen: E.OptionsChosen(frozenset({JuminhyoOption.HOUSEHOLD})),
        E.WarningAcknowledged: E.WarningAcknowledged(),
        E.FiscalYearChosen: E.FiscalYearChosen(2024),
        E.CopiesChosen: E.CopiesChosen(2),
        E.FeeConfirmed: E.FeeConfirmed(),
        E.Back: E.Back(),
        E.Cancel: E.Cancel(),
        E.NoticeAcknowledged: E.NoticeAcknowledged(),
        E.ClerkRequested: E.ClerkRequested(),
        E.ClerkPinEntered: E.ClerkPinEntered(ClerkPin(b"000000")),
        E.ClerkReprint: E.ClerkReprint(),
        E.ClerkExit: E.ClerkExit(),
        E.ClerkMenu: E.ClerkMenu("refill"),
        E.ClerkRefresh: E.ClerkRefresh(),
        E.ClerkRefill: E.ClerkRefill("hopper3", 10),
        E.ClerkCollect: E.ClerkCollect(0),
        E.ClerkReportDay: E.ClerkReportDay("2026-11-23"),
        E.ClerkPrintReport: E.ClerkPrintReport(),
        E.ClerkStatusRead: E.ClerkStatusRead({"hoppers": []}),
        E.ClerkDone: E.ClerkDone("refill", True),
        E.CardInserted: E.CardInserted(3),
        E.CardRejected: E.CardRejected(E.CardRejection.NOT_MY_NUMBER_CARD),
        E.CardRemoved: E.CardRemoved(),
        E.PinAccepted: E.PinAccepted(),
        E.PinWrong: E.PinWrong(2),
        E.CardBlocked: E.CardBlocked(),
        E.ChallengeSigned: E.ChallengeSigned(b"c", b"s"),
        E.CardError: E.CardError(),
        E.ChallengeIssued: E.ChallengeIssued(b"x" * 32),
        E.Authenticated: E.Authenticated(demo_menu()),
        E.Refused: E.Refused(E.RefusalReason.UNDER_15),
        E.CenterUnavailable: E.CenterUnavailable(),
        E.QuoteReady: E.QuoteReady(E.Quote("Q-9", 400)),
        E.Issued: E.Issued(demo_documents()),
        E.MoneyInserted: E.MoneyInserted(1000),
        E.PaymentComplete: E.PaymentComplete(1000, 800),
        E.RefundDone: E.RefundDone(500),
        E.PrintProgress: E.PrintProgress(1, 2),
        E.Printed: E.Printed(),
        E.PrintFailed: E.PrintFailed("media-jam"),
        E.Recovered: E.Recovered(1, 300, ("N-1",), "en"),
        E.OutputTray: E.OutputTray(True),
        E.ChangeTray: E.ChangeTray(True),
        E.DeviceHealth: E.DeviceHealth(E.Device.PAPER, False),
        E.ClerkPinChecked: E.ClerkPinChecked(True),
        E.Timeout: E.Timeout(m.seq),
        E.Tick: E.Tick(CLOSED_TIME),
    }
    assert set(samples) == set(E.ALL_EVENT_TYPES)
    return samples[event_type]


ROWS = sorted(TABLE, key=lambda k: (k[0].value, k[1].__name__))


@pytest.mark.parametrize(
    ("state", "event_type"), ROWS, ids=[f"{s.value}-{e.__name__}" for s, e in ROWS]
)
def test_every_row_runs_and_lands_in_an_allowed_state(
    state: State, event_type: type[E.Event]
) -> None:
    m, _ = machine_at(state)
    actions = m.handle(sample(event_type, m))
    assert m.state in TABLE[(state, event_type)].targets
    # Every handled event ends with the screen announced.
    assert isinstance(actions[-1], A.Show)
    assert actions[-1].screen == m.state.value


UNHANDLED = [(s, e) for s in State for e in E.ALL_EVENT_TYPES if (s, e) not in TABLE]


@pytest.mark.parametrize(
    ("state", "event_type"),
    UNHANDLED,
    ids=[f"{s.value}-{e.__name__}" for s, e in UNHANDLED],
)
def test_events_without_a_row_are_ignored(state: State, event_type: type[E.Event]) -> None:
    m, _ = machine_at(state)
    before = (m.state, m.seq, m.dump())
    ev = sample(event_type, m)
    assert m.handle(ev) == []
    assert (m.state, m.seq, m.dump()) == before
    if isinstance(ev, (E.PinEntered, E.ClerkPinEntered)):
        assert ev.pin.wiped  # an ignored PIN is wiped at once


def test_unhandled_set_is_not_trivial() -> None:
    # A table that accepted everything everywhere would make the test above vacuous.
    assert (State.IDLE, E.PinEntered) in UNHANDLED
    assert (State.PAYMENT, E.StartPressed) in UNHANDLED
    assert (State.ISSUING, E.Cancel) in UNHANDLED


def test_every_waiting_state_has_timeout_cancel_health_and_tick_rows() -> None:
    for s in set(State) - RESTING:
        assert (s, E.Timeout) in TABLE, s
        assert (s, E.DeviceHealth) in TABLE, s
        assert (s, E.Tick) in TABLE, s
        assert s in DEFAULT_TIMEOUTS
    for s in CANCELLABLE:
        assert (s, E.Cancel) in TABLE, s
    for s in RESTING:
        assert (s, E.Timeout) not in TABLE


def test_duplicate_rows_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from host.session import table

    original = table._rows

    def doubled() -> object:
        rows = list(original())
        return rows + rows[:1]

    monkeypatch.setattr(table, "_rows", doubled)
    with pytest.raises(ValueError, match="two rows"):
        build_table()


def test_a_row_choosing_an_undeclared_state_is_a_defect(monkeypatch: pytest.MonkeyPatch) -> None:
    from host.session import machine as machine_mod
    from host.session.machine import TransitionError
    from host.session.table import Row

    bad = dict(TABLE)
    bad[(State.IDLE, E.StartPressed)] = Row(
        State.IDLE, E.StartPressed, frozenset({State.LANGUAGE}), lambda m, ev: State.PAYMENT
    )
    monkeypatch.setattr(machine_mod, "TABLE", bad)
    m = SessionMachine(OPEN_TIME)
    with pytest.raises(TransitionError, match="idle x StartPressed chose payment"):
        m.handle(E.StartPressed())


@pytest.mark.parametrize("state", sorted(CITIZEN_WAITING), ids=lambda s: s.value)
def test_walking_away_ends_the_session_and_wipes(state: State) -> None:
    m, _ = machine_at(state)
    if state is State.PAYMENT:
        m.handle(E.MoneyInserted(300))
    actions = m.handle(E.Timeout(m.seq))
    if state is State.PAYMENT:
        assert A.StopPayment() in actions
        assert A.Refund(300) in actions
        assert m.state is State.REFUNDING
        actions = m.handle(E.RefundDone(300))
    assert A.Wipe() in actions
    assert m.data.is_empty()
    # The card is still on the reader from the card step on: the left-behind screen follows.
    expected = State.IDLE if state in (State.LANGUAGE, State.CARD) else State.LEFT_BEHIND_SCREEN
    assert m.state is expected


@pytest.mark.parametrize("state", sorted(CANCELLABLE), ids=lambda s: s.value)
def test_cancel_at_every_step_returns_money_and_wipes(state: State) -> None:
    m, _ = machine_at(state)
    inserted = 700 if state is State.PAYMENT else 0
    if inserted:
        m.handle(E.MoneyInserted(inserted))
    actions = m.handle(E.Cancel())
    refunds = [a for a in actions if isinstance(a, A.Refund)]
    if inserted:
        assert refunds == [A.Refund(inserted)]
        assert A.StopPayment() in actions
        assert A.Wipe() not in actions  # money first, then the wipe
        actions = m.handle(E.RefundDone(inserted))
    else:
        assert refunds == []
    assert A.Wipe() in actions
    assert m.held_yen == 0
    assert m.data.is_empty()
    assert any(isinstance(a, A.Log) and a.event == "cancelled" for a in actions) or inserted


def test_progress_timeouts_explain_instead_of_hanging() -> None:
    for state, notice in (
        (State.PIN_CHECK, "card_error"),
        (State.AUTHENTICATING, "center_unavailable"),
        (State.QUOTING, "center_unavailable"),
    ):
        m, _ = machine_at(state)
        m.handle(E.Timeout(m.seq))
        assert m.state is State.NOTICE
        assert m.data.notice == notice


def test_stale_timeouts_are_ignored() -> None:
    m, _ = machine_at(State.CERTIFICATE)
    stale = m.seq - 1
    assert m.handle(E.Timeout(stale)) == []
    assert m.state is State.CERTIFICATE


def test_citizen_activity_rearms_the_timer() -> None:
    m, _ = machine_at(State.PAYMENT)
    seq = m.seq
    actions = m.handle(E.MoneyInserted(100))
    assert A.SetTimer(DEFAULT_TIMEOUTS[State.PAYMENT], seq + 1) in actions
    assert m.handle(E.Timeout(seq)) == []  # the old timer no longer counts


def test_personal_data_is_held_only_until_printed() -> None:
    after_print = {State.COLLECT, State.THANKS}
    for state in IN_SESSION - {State.LANGUAGE, State.CARD, State.NOTICE} - after_print:
        m, _ = machine_at(state)
        assert m.data.session_id, state
    for state in after_print | {State.PRINT_FAILED}:
        m, _ = machine_at(state)
        assert m.data.menu is None and m.data.documents == () and not m.data.session_id
    for state in RESTING:
        m, _ = machine_at(state)
        assert m.data.is_empty()


def test_clerk_mode_is_entered_only_at_rest_or_after_a_print_failure() -> None:
    from host.session.states import CLERK_MENU

    entries = {s for (s, e) in TABLE if e is E.ClerkRequested}
    assert entries == set(RESTING) | {State.PRINT_FAILED}
    assert not entries & IN_SESSION
    # every clerk screen can be left by button and by timeout, and shows device health live
    for s in CLERK_MENU:
        for ev in (E.ClerkExit, E.Timeout, E.DeviceHealth, E.ClerkRefresh, E.ClerkDone):
            assert (s, ev) in TABLE, (s, ev)
    # the clerk's money operations exist only on their own screens
    assert {s for (s, e) in TABLE if e is E.ClerkRefill} == {State.CLERK_REFILL}
    assert {s for (s, e) in TABLE if e is E.ClerkCollect} == {State.CLERK_COLLECT}
