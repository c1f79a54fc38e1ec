"""Print failures reprint only what failed (issue 14, D4), and a reprint attempted while the
printer is still faulty leaves the copy pending: the session table reports each copy's
outcome to the center, keeps only the copies that did not come out for the clerk, and
gives the kiosk back to the next citizen once a clerk has the failure in hand."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from documents.model import CertificateType
from host.session import actions as A
from host.session import events as E
from host.session.demo import OPEN_TIME, demo_documents, demo_menu, drive
from host.session.machine import SessionMachine
from host.session.pin import ClerkPin, Pin
from host.session.ports import CenterRefusal, PrintError
from host.session.runner import PortExecutor, Ports
from host.session.states import State

C1, C2, C3 = "DEMO-000001", "DEMO-000002", "DEMO-000003"


def of(actions: list[A.Action], kind: type[A.Action]) -> list[Any]:
    return [a for a in actions if isinstance(a, kind)]


def session_steps(docs: tuple[E.IssuedDocument, ...], quote: str) -> list[E.Event]:
    copies = len(docs)
    return [
        E.StartPressed(),
        E.LanguageChosen("ja"),
        E.CardInserted(3),
        E.PinEntered(Pin(b"7359")),
        E.PinAccepted(),
        E.ChallengeIssued(b"\x01" * 32),
        E.ChallengeSigned(b"cert", b"sig"),
        E.Authenticated(demo_menu()),
        E.CertificateChosen(CertificateType.INKAN),
        E.CopiesChosen(copies),
        E.QuoteReady(E.Quote(quote, 200 * copies)),
        E.FeeConfirmed(),
        E.MoneyInserted(1000),
        E.PaymentComplete(1000, 1000 - 200 * copies),
        E.Issued(docs),
    ]


def printing(copies: int = 3) -> SessionMachine:
    m = SessionMachine(OPEN_TIME)
    drive(m, session_steps(demo_documents(copies), "Q-1"))
    assert m.state is State.PRINTING
    return m


def sign_in(m: SessionMachine) -> list[A.Action]:
    out = m.handle(E.ClerkRequested())
    out += m.handle(E.ClerkPinEntered(ClerkPin(b"246810")))
    out += m.handle(E.ClerkPinChecked(True, clerk="c01"))
    assert m.state is State.CLERK
    return out


def reports(actions: list[A.Action]) -> list[tuple[tuple[str, ...], bool]]:
    return [(r.certificate_numbers, r.ok) for r in of(actions, A.ReportPrintResult)]


def test_paper_out_after_copy_2_of_3_reports_two_printed_and_one_failed() -> None:
    m = printing(3)
    actions = m.handle(E.PrintFailed("media-empty", printed=(C1, C2)))
    assert m.state is State.PRINT_FAILED
    assert reports(actions) == [((C1, C2), True), ((C3,), False)]
    assert A.ReportPrintResult((C3,), ok=False, reason="media-empty") in actions
    assert m.pending_reprint == (C3,)
    assert m.view()["reprint_pending"] == 1
    [record] = [r for r in of(actions, A.Record) if r.event == "print_failed"]
    assert record.fields == {"reason": "media-empty", "documents": 1, "printed": 2}
    assert A.SoundAlarm(A.AlarmPattern.CALL_CLERK) in actions
    assert m.data.documents == ()  # the certificate data is erased all the same


def test_the_clerk_reprints_only_the_missing_copy_without_a_fee() -> None:
    m = printing(3)
    m.handle(E.PrintFailed("media-empty", printed=(C1, C2)))
    out = sign_in(m)
    assert m.view()["reprint_numbers"] == [C3]
    out = m.handle(E.ClerkReprint())
    assert of(out, A.Reprint) == [A.Reprint((C3,))]
    assert not of(out, A.StartPayment) and not of(out, A.RequestQuote)
    out = m.handle(E.Printed())
    assert reports(out) == [((C3,), True)]
    assert m.pending_reprint == () and A.StopAlarm() in out


def test_nothing_came_out_means_every_copy_failed() -> None:
    m = printing(3)
    actions = m.handle(E.PrintFailed("media-jam"))
    assert reports(actions) == [((C1, C2, C3), False)]
    assert m.pending_reprint == (C1, C2, C3)


def test_a_failure_reported_after_the_last_copy_is_a_printed_session() -> None:
    m = printing(2)
    actions = m.handle(E.PrintFailed("media-empty", printed=(C1, C2)))
    assert m.state is State.COLLECT
    assert reports(actions) == [((C1, C2), True)]
    assert m.pending_reprint == () and not of(actions, A.SoundAlarm)


def test_a_reprint_while_the_printer_is_still_faulty_reports_failed_again_and_stays() -> None:
    m = printing(3)
    m.handle(E.PrintFailed("media-empty", printed=(C1, C2)))
    sign_in(m)
    m.handle(E.ClerkReprint())
    out = m.handle(E.PrintFailed("media-empty"))
    # failed again at the center: it allows one more reprint once the printer is fixed
    assert of(out, A.ReportPrintResult) == [A.ReportPrintResult((C3,), False, "media-empty")]
    assert m.pending_reprint == (C3,) and m.view()["reprint_pending"] == 1
    assert m.view()["input_error"] == "reprint_failed"
    assert A.ClerkAudit("op_failed", "c01", {"op": "reprint", "error": "media-empty"}) in out
    assert not of(out, A.StopAlarm)
    # the printer is serviced: the same copy, once more, still no fee
    out = m.handle(E.ClerkReprint())
    assert of(out, A.Reprint) == [A.Reprint((C3,))] and not of(out, A.StartPayment)
    out = m.handle(E.Printed())
    assert reports(out) == [((C3,), True)] and m.pending_reprint == ()


def test_a_reprint_cut_short_keeps_only_what_did_not_come_out() -> None:
    m = printing(3)
    m.handle(E.PrintFailed("media-empty", printed=(C1,)))
    sign_in(m)
    m.handle(E.ClerkReprint())
    out = m.handle(E.PrintFailed("media-jam", printed=(C2,)))
    assert reports(out) == [((C2,), True), ((C3,), False)]
    assert m.pending_reprint == (C3,)
    assert [r.fields for r in of(out, A.Record) if r.event == "reprinted"] == [{"documents": 1}]


def test_a_second_tap_while_the_reprint_is_on_its_way_sends_nothing() -> None:
    m = printing(1)
    m.handle(E.PrintFailed("media-empty"))
    sign_in(m)
    assert of(m.handle(E.ClerkReprint()), A.Reprint)
    out = m.handle(E.ClerkReprint())
    assert not of(out, A.Reprint) and m.view()["input_error"] == "clerk_busy"
    m.handle(E.PrintFailed("media-empty"))
    assert of(m.handle(E.ClerkReprint()), A.Reprint)  # answered: the clerk may try again


def test_once_a_clerk_has_it_the_kiosk_serves_the_next_citizen() -> None:
    m = printing(3)
    m.handle(E.PrintFailed("media-empty", printed=(C1, C2)))
    sign_in(m)
    m.handle(E.ClerkReprint())
    m.handle(E.PrintFailed("media-empty"))
    out = m.handle(E.ClerkExit())
    assert A.StopAlarm() in out
    assert m.state is State.LEFT_BEHIND_SCREEN  # the citizen's card is still on the reader
    m.handle(E.CardRemoved())
    assert m.state is State.OUT_OF_SERVICE  # the printer is down: a clear screen, not 印刷失敗
    m.handle(E.DeviceHealth(E.Device.PRINTER, True))  # serviced; the board says so
    assert m.state is State.IDLE
    assert m.pending_reprint == (C3,)  # still the clerk's, across sessions
    # the next citizen's session fails too: both sessions' missing copies are listed
    drive(m, session_steps((E.IssuedDocument("NEXT-000001", 1, "Q-2", b"{}"),), "Q-2"))
    m.handle(E.PrintFailed("media-jam"))
    assert m.pending_reprint == (C3, "NEXT-000001")
    assert m.state is State.PRINT_FAILED


def test_leaving_the_clerk_pin_pad_unsigned_keeps_calling_the_clerk() -> None:
    m = printing(1)
    m.handle(E.PrintFailed("media-empty"))
    m.handle(E.ClerkRequested())
    out = m.handle(E.ClerkExit())
    assert m.state is State.PRINT_FAILED and not of(out, A.StopAlarm)
    m.handle(E.Timeout(m.seq))
    assert m.state is State.PRINT_FAILED


# --- the runner's reprint: one copy at a time ---------------------------------------------


class Center:
    def __init__(self, refuse_at: str = "") -> None:
        self.refuse_at = refuse_at
        self.reprinted: list[str] = []

    async def reprint(self, numbers: tuple[str, ...]) -> tuple[E.IssuedDocument, ...]:
        [number] = numbers
        if number == self.refuse_at:
            raise CenterRefusal(E.RefusalReason.OTHER)
        self.reprinted.append(number)
        return (E.IssuedDocument(number, 1, "Q-1", b"{}"),)


class Printer:
    def __init__(self, fail_at: str = "", down: str = "") -> None:
        self.fail_at, self.down = fail_at, down
        self.printed: list[str] = []

    async def not_ready(self) -> str:
        return self.down

    async def print_documents(self, documents: tuple[E.IssuedDocument, ...]) -> None:
        for d in documents:
            if d.certificate_number == self.fail_at:
                raise PrintError("media-empty")
            self.printed.append(d.certificate_number)


def reprint(center: Center, printer: Printer) -> list[E.Event]:
    none = cast(Any, None)
    ports = Ports(none, cast(Any, center), none, cast(Any, printer), none, none)
    return asyncio.run(PortExecutor(ports).execute(A.Reprint((C1, C2, C3))))


def test_the_runner_asks_the_center_for_a_copy_only_just_before_printing_it() -> None:
    center, printer = Center(), Printer(fail_at=C2)
    assert reprint(center, printer) == [E.PrintFailed("media-empty", printed=(C1,))]
    # copy 3 was never set back to pending at the center: it stays failed, reprintable
    assert center.reprinted == [C1, C2] and printer.printed == [C1]
    center, printer = Center(), Printer()
    assert reprint(center, printer) == [E.Printed()]
    assert printer.printed == [C1, C2, C3]


def test_a_printer_still_out_of_paper_is_not_given_a_reprint_at_all() -> None:
    center, printer = Center(), Printer(down="media-empty")
    assert reprint(center, printer) == [E.PrintFailed("media-empty")]
    assert center.reprinted == []  # no copy set back to pending, no ledger line, none used up


def test_a_center_refusal_mid_reprint_says_what_did_come_out() -> None:
    center, printer = Center(refuse_at=C2), Printer()
    [event] = reprint(center, printer)
    assert event == E.PrintFailed("center:other", printed=(C1,))
