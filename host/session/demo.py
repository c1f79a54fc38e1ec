"""A fictional resident's menu and the event paths that walk a session to each state.

Used by the tests, by the screen's simulation mode and by scripted sessions: one place that
knows how to reach, say, the payment screen, so nobody hand-writes event lists.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Literal

from documents.model import CertificateType, JuminhyoOption

from . import actions as A
from . import events as E
from .hours import TOKYO
from .machine import SessionMachine
from .pin import ClerkPin, Pin
from .states import State

TIMEOUT: Literal["timeout"] = "timeout"
Step = E.Event | Literal["timeout"]

OPEN_TIME = datetime(2026, 11, 24, 10, 0, tzinfo=TOKYO)  # a Tuesday morning
CLOSED_TIME = datetime(2026, 11, 24, 5, 0, tzinfo=TOKYO)

JP_OPTIONS = frozenset({JuminhyoOption.HOUSEHOLD, JuminhyoOption.MY_NUMBER, JuminhyoOption.HONSEKI})
FOREIGN_OPTIONS = frozenset(
    {
        JuminhyoOption.HOUSEHOLD,
        JuminhyoOption.MY_NUMBER,
        JuminhyoOption.NATIONALITY,
        JuminhyoOption.RESIDENCE_CARD,
        JuminhyoOption.RESIDENCE_STATUS,
    }
)


def demo_menu() -> E.Menu:
    members = (
        E.Member("m1", "見本 太郎", True, JP_OPTIONS, data_as_of=date(2026, 11, 30)),
        E.Member("m2", "見本 花子", False, JP_OPTIONS, data_as_of=date(2026, 12, 1)),
        E.Member("m3", "SAMPLE Maria", False, FOREIGN_OPTIONS, data_as_of=date(2026, 11, 30)),
    )
    return E.Menu(
        (
            E.Offer(CertificateType.JUMINHYO, 200, members=members),
            E.Offer(CertificateType.INKAN, 200),
            E.Offer(CertificateType.SHOTOKU, 200, fiscal_years=(2025, 2024)),
            E.Offer(CertificateType.SHOTOKU_KAZEI, 200, fiscal_years=(2025,)),
        ),
        data_as_of=date(2026, 11, 30),
        municipality="桜ヶ丘市",
    )


def demo_documents(copies: int = 1, quote_id: str = "Q-1") -> tuple[E.IssuedDocument, ...]:
    return tuple(
        E.IssuedDocument(f"DEMO-{i + 1:06d}", 1, quote_id, b'{"demo":true}') for i in range(copies)
    )


DEMO_PIN = b"7359"


def main_path() -> list[tuple[State, Step]]:
    """(state reached after the step, step) along the happy path with a 住民票 and 個人番号."""
    return [
        (State.LANGUAGE, E.StartPressed()),
        (State.CARD, E.LanguageChosen("ja")),
        (State.PIN, E.CardInserted(3)),
        (State.PIN_CHECK, E.PinEntered(Pin(DEMO_PIN))),
        (State.AUTHENTICATING, E.PinAccepted()),
        (State.AUTHENTICATING, E.ChallengeIssued(b"\x01" * 32)),
        (State.AUTHENTICATING, E.ChallengeSigned(b"cert", b"sig")),
        (State.CERTIFICATE, E.Authenticated(demo_menu())),
        (State.SUBJECT, E.CertificateChosen(CertificateType.JUMINHYO)),
        (State.OPTIONS, E.SubjectsChosen(("m1",))),
        (State.MY_NUMBER_WARNING, E.OptionsChosen(frozenset({JuminhyoOption.MY_NUMBER}))),
        (State.COPIES, E.WarningAcknowledged()),
        (State.QUOTING, E.CopiesChosen(1)),
        (State.FEE, E.QuoteReady(E.Quote("Q-1", 200))),
        (State.PAYMENT, E.FeeConfirmed()),
        (State.PAYMENT, E.MoneyInserted(500)),
        (State.ISSUING, E.PaymentComplete(500, 300)),
        (State.PRINTING, E.Issued(demo_documents())),
        (State.PRINTING, E.PrintProgress(1, 1)),
        (State.COLLECT, E.Printed()),
        (State.COLLECT, E.OutputTray(True)),
        (State.COLLECT, E.ChangeTray(True)),
        (State.COLLECT, E.OutputTray(False)),
        (State.COLLECT, E.ChangeTray(False)),
        (State.THANKS, E.CardRemoved()),
        (State.IDLE, TIMEOUT),
    ]


def path_to(state: State) -> list[Step]:
    """Steps from a fresh, open machine to ``state``."""
    main = main_path()
    for i, (reached, _) in enumerate(main):
        if reached is state:
            return [step for _, step in main[: i + 1]]
    prefix = {s: [step for _, step in main[: i + 1]] for i, (s, _) in enumerate(main)}
    clerk: list[Step] = [
        E.ClerkRequested(),
        E.ClerkPinEntered(ClerkPin(b"000000")),
        E.ClerkPinChecked(True),
    ]
    extra: dict[State, tuple[State, list[Step]]] = {
        State.FISCAL_YEAR: (State.CERTIFICATE, [E.CertificateChosen(CertificateType.SHOTOKU)]),
        State.NOTICE: (State.CARD, [E.CardInserted(0)]),
        State.REFUNDING: (State.PAYMENT, [E.Cancel()]),
        State.PRINT_FAILED: (State.PRINTING, [E.PrintFailed("media-empty")]),
        State.LEFT_BEHIND_SCREEN: (State.PIN, [E.Cancel()]),
        State.LEFT_BEHIND_VOICE: (State.PIN, [E.Cancel(), TIMEOUT]),
        State.LEFT_BEHIND_ALARM: (State.PIN, [E.Cancel(), TIMEOUT, TIMEOUT]),
        State.OUT_OF_SERVICE: (State.IDLE, [E.DeviceHealth(E.Device.PRINTER, False)]),
        State.CLOSED: (State.IDLE, [E.Tick(CLOSED_TIME)]),
        State.CLERK_PIN: (State.IDLE, [E.ClerkRequested()]),
        State.CLERK_CHECK: (
            State.IDLE,
            [E.ClerkRequested(), E.ClerkPinEntered(ClerkPin(b"000000"))],
        ),
        State.CLERK: (State.IDLE, clerk),
        State.CLERK_REFILL: (State.IDLE, [*clerk, E.ClerkMenu("refill")]),
        State.CLERK_COLLECT: (State.IDLE, [*clerk, E.ClerkMenu("collect")]),
        State.CLERK_REPORT: (State.IDLE, [*clerk, E.ClerkMenu("report")]),
    }
    base, steps = extra[state]
    return ([] if base is State.IDLE else prefix[base]) + steps


def feed(machine: SessionMachine, step: Step) -> list[A.Action]:
    if step == TIMEOUT:
        return machine.handle(E.Timeout(machine.seq))
    assert not isinstance(step, str)
    return machine.handle(step)


def drive(machine: SessionMachine, steps: Iterable[Step]) -> list[A.Action]:
    out: list[A.Action] = []
    for step in steps:
        out.extend(feed(machine, step))
    return out


def machine_at(state: State, now: datetime = OPEN_TIME) -> tuple[SessionMachine, list[A.Action]]:
    m = SessionMachine(now)
    actions = drive(m, path_to(state))
    if m.state is not state:
        raise AssertionError(f"path to {state.value} ended in {m.state.value}")
    return m, actions
