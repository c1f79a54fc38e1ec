"""Any sequence of events keeps the machine defined, the money accounted and, once a session
is over, no personal data held."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from documents.model import CertificateType, JuminhyoOption
from host.session import actions as A
from host.session import events as E
from host.session.demo import CLOSED_TIME, OPEN_TIME, TIMEOUT, Step, demo_documents, demo_menu
from host.session.demo import feed as feed_step
from host.session.machine import SessionMachine
from host.session.pin import ClerkPin, Pin
from host.session.states import LEFT_BEHIND, RESTING, State
from tests.fuzzing import examples

NAMES = [m.name for o in demo_menu().offers for m in o.members]

pins = st.builds(lambda s: Pin(s.encode()), st.from_regex(r"\A[0-9]{4}\Z"))
clerk_pins = st.builds(lambda s: ClerkPin(s.encode()), st.from_regex(r"\A[0-9]{6,12}\Z"))

events: st.SearchStrategy[Step] = st.one_of(
    st.just(TIMEOUT),
    st.just(TIMEOUT),
    st.sampled_from(
        [
            E.StartPressed(),
            E.LanguageChosen("ja"),
            E.LanguageChosen("xx"),
            E.CardInserted(3),
            E.CardInserted(0),
            E.CardRejected(E.CardRejection.NO_USER_CERTIFICATE),
            E.CardRemoved(),
            E.PinAccepted(),
            E.PinWrong(2),
            E.PinWrong(0),
            E.CardBlocked(),
            E.CardError(),
            E.ChallengeIssued(b"c" * 32),
            E.ChallengeSigned(b"cert", b"sig"),
            E.Authenticated(demo_menu()),
            E.Refused(E.RefusalReason.DECEASED),
            E.CenterUnavailable(),
            E.CertificateChosen(CertificateType.JUMINHYO),
            E.CertificateChosen(CertificateType.SHOTOKU),
            E.CertificateChosen(CertificateType.INKAN),
            E.SubjectsChosen(("m1", "m3")),
            E.SubjectsChosen(()),
            E.OptionsChosen(frozenset({JuminhyoOption.MY_NUMBER})),
            E.OptionsChosen(frozenset()),
            E.WarningAcknowledged(),
            E.FiscalYearChosen(2025),
            E.CopiesChosen(2),
            E.CopiesChosen(99),
            E.QuoteReady(E.Quote("Q", 400)),
            E.FeeConfirmed(),
            E.MoneyInserted(100),
            E.MoneyInserted(1000),
            E.PaymentComplete(1000, 600),
            E.PaymentComplete(1000, 0),
            E.RefundDone(1000),
            E.RefundDone(0, 1000),
            E.Issued(demo_documents(2, quote_id="Q")),
            E.Issued(demo_documents(1, quote_id="someone-else")),
            E.PrintProgress(1, 2),
            E.Printed(),
            E.PrintFailed("media-jam"),
            E.OutputTray(True),
            E.OutputTray(False),
            E.ChangeTray(True),
            E.ChangeTray(False),
            E.DeviceHealth(E.Device.CENTER, False),
            E.DeviceHealth(E.Device.CENTER, True),
            E.DeviceHealth(E.Device.PAPER, False),
            E.DeviceHealth(E.Device.PAPER, True),
            E.Back(),
            E.Cancel(),
            E.NoticeAcknowledged(),
            E.ClerkRequested(),
            E.ClerkPinChecked(True),
            E.ClerkReprint(),
            E.ClerkExit(),
            E.Tick(CLOSED_TIME),
            E.Tick(OPEN_TIME),
        ]
    ),
    st.builds(E.PinEntered, pins),
    st.builds(E.ClerkPinEntered, clerk_pins),
)


@settings(max_examples=examples(400), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(events, max_size=60), st.booleans())
def test_any_event_sequence_keeps_the_machine_defined(steps: list[Step], start: bool) -> None:
    m = SessionMachine(OPEN_TIME)
    if start:
        steps = [E.StartPressed(), *steps]
    for step in steps:
        state_before, held_before = m.state, m.held_yen
        actions = feed_step(m, step)
        assert isinstance(m.state, State)
        assert m.held_yen >= 0
        for a in actions:
            if isinstance(a, A.Refund):
                assert a.amount_yen == m.held_yen  # everything held goes back
            if isinstance(a, A.Log):
                assert not any(n in repr(dict(a.fields)) for n in NAMES)
            if isinstance(a, A.Show) and m.state in RESTING | LEFT_BEHIND:
                assert not any(n in repr(a.data) for n in NAMES)
        if m.held_yen < held_before:
            # Money leaves the kiosk's hold only as change, as a refund/voucher, or as the fee
            # of a certificate actually issued.
            as_change = isinstance(step, E.PaymentComplete) and (
                m.held_yen == step.paid_yen - step.change_yen
            )
            as_fee = isinstance(step, E.Issued) and m.state is State.PRINTING
            as_refund = state_before is State.REFUNDING and (
                isinstance(step, E.RefundDone)
                or any(
                    isinstance(a, A.IssueVoucher) and a.amount_yen == held_before for a in actions
                )
            )
            assert as_change or as_fee or as_refund, (state_before, step)
        if isinstance(step, (E.PinEntered, E.ClerkPinEntered)):
            handed = [a for a in actions if isinstance(a, (A.VerifyPin, A.CheckClerkPin))]
            assert handed or step.pin.wiped
        if m.state in RESTING | LEFT_BEHIND:
            # Whatever happened, a finished session holds no personal data and no money.
            assert m.data.is_empty()
            assert m.held_yen == 0


@settings(max_examples=examples(150), deadline=None)
@given(st.lists(events, max_size=40))
def test_cancel_or_walk_away_always_reaches_rest(steps: list[Step]) -> None:
    """From anywhere, the citizen leaving (cancel, timeouts, refunds, items taken) ends at
    rest: no state traps the kiosk."""
    m = SessionMachine(OPEN_TIME)
    for step in steps:
        feed_step(m, step)
    settle: list[Step] = [
        E.Cancel(),
        E.RefundDone(0, 0),
        E.NoticeAcknowledged(),
        E.ClerkExit(),
        E.CardRemoved(),
        E.OutputTray(False),
        E.ChangeTray(False),
        E.Printed(),
        E.DeviceHealth(E.Device.CENTER, True),
        E.DeviceHealth(E.Device.PAPER, True),
        E.DeviceHealth(E.Device.PRINTER, True),
        E.Tick(OPEN_TIME),
    ]
    for _ in range(12):
        for step in [*settle, TIMEOUT]:
            feed_step(m, step)
        if m.state in RESTING and m.state is not State.OUT_OF_SERVICE:
            break
        if m.state is State.PRINT_FAILED:  # only a clerk gets the kiosk out of this one
            for step in (
                E.ClerkRequested(),
                E.ClerkPinEntered(Pin(b"0000")),
                E.ClerkPinChecked(True),
                E.ClerkReprint(),
                E.Printed(),
                E.ClerkExit(),
            ):
                feed_step(m, step)
    assert m.state is State.IDLE, m.dump()
    assert m.data.is_empty()
