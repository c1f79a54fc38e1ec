"""Issue 20: the decisions of start-up recovery (`host/kiosk/recovery.py`), on a real cash
journal, with the center, printer and cash desk answering as recorded stand-ins. The whole
path — a real host SIGKILLed mid-session and restarted against the real center, printer and
cash simulators — is `kofu bench kiosk-crash` and its short run in `make test`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from host.kiosk.center_client import RecoveredOrder
from host.kiosk.recovery import Recovery
from host.payment.desk import PaymentError
from host.payment.journal import Journal
from host.payment.orders import unfinished
from host.session import events as E
from host.session.ports import CenterDown, PrintError


def doc(number: str) -> E.IssuedDocument:
    return E.IssuedDocument(certificate_number=number, pages=1, quote_id="o1", payload=b"{}")


@dataclass
class Center:
    answer: RecoveredOrder | None = None
    down: bool = False
    asked: list[tuple[str, str]] = field(default_factory=list)
    reports: list[tuple[str, bool]] = field(default_factory=list)

    async def recover(self, order: str, key: str) -> RecoveredOrder:
        self.asked.append((order, key))
        if self.down:
            raise CenterDown("unreachable")
        assert self.answer is not None
        return self.answer

    async def report_print(self, numbers: tuple[str, ...], ok: bool, reason: str) -> None:
        self.reports += [(number, ok) for number in numbers]


@dataclass
class Printers:
    ready: bool = True
    history: frozenset[str] = frozenset()  # copies the printer's job history shows completed
    fail_after: int | None = None
    printed: list[str] = field(default_factory=list)

    async def came_out(self, numbers: tuple[str, ...]) -> frozenset[str]:
        return frozenset(n for n in numbers if n in self.history)

    async def not_ready(self) -> str:
        return "" if self.ready else "media-empty"

    async def print_documents(self, docs: tuple[E.IssuedDocument, ...]) -> None:
        for i, d in enumerate(docs):
            if self.fail_after is not None and i >= self.fail_after:
                raise PrintError("media-empty", tuple(self.printed))
            self.printed.append(d.certificate_number)


@dataclass
class Payment:
    refunded: list[tuple[str, int]] = field(default_factory=list)

    async def refund_captured(self, tx: str, amount: int) -> Any:
        if any(t == tx for t, _ in self.refunded):
            raise PaymentError("already refunded")
        self.refunded.append((tx, amount))


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "cash.db", clock=lambda: 1_800_000_000.0)


def paid(journal: Journal, tx: str = "t1", fee: int = 400, key: str | None = "k-12345678",
         numbers: tuple[str, ...] = ()) -> None:  # fmt: skip
    """A transaction that captured its fee for order o1 (and was paying it with ``key``)."""
    journal.append("tx_open", tx=tx, amount=fee)
    journal.append("tx_ref", tx=tx, order="o1")
    journal.append("credit", tx=tx, amount=fee, device="coin", counter=1)
    journal.append("fee_captured", tx=tx, amount=fee)
    journal.append("tx_closed", tx=tx)
    if key is not None:
        journal.append("order", tx=tx, step="paying", order="o1", key=key, lang="en")
    if numbers:
        journal.append("tx_ref", tx=tx, order="o1", certificates=list(numbers))


def run(journal: Journal, center: Center, printers: Printers, payment: Payment) -> Any:
    recovery = Recovery(journal, payment, center, printers)  # type: ignore[arg-type]
    return asyncio.run(recovery.run())


def test_fee_taken_before_the_center_was_asked_goes_back(journal: Journal) -> None:
    paid(journal, key=None)
    center, payment = Center(RecoveredOrder(False, (), (), ())), Payment()
    run(journal, center, Printers(), payment)
    (order, key), = center.asked
    assert order == "o1" and len(key) >= 8  # a fresh key: the center voids the order
    assert payment.refunded == [("t1", 400)]
    assert unfinished(journal) == []  # settled: never refunded twice
    run(journal, center, Printers(), payment)
    assert payment.refunded == [("t1", 400)]


def test_an_order_the_center_never_issued_is_refunded(journal: Journal) -> None:
    paid(journal)
    center, payment = Center(RecoveredOrder(False, (), (), ())), Payment()
    outcome = run(journal, center, Printers(), payment)
    assert center.asked == [("o1", "k-12345678")]  # by the key it was paid with
    assert payment.refunded == [("t1", 400)] and outcome.lang == "en"
    assert outcome.certificates == 0 and outcome.reprint == ()


def test_a_refund_a_dead_recovery_already_made_is_not_made_again(journal: Journal) -> None:
    paid(journal)
    payment = Payment(refunded=[("t1", 400)])
    run(journal, Center(RecoveredOrder(False, (), (), ())), Printers(), payment)
    assert payment.refunded == [("t1", 400)] and unfinished(journal) == []


def test_issued_copies_that_never_came_out_are_printed_now(journal: Journal) -> None:
    paid(journal, numbers=("N1", "N2", "N3"))
    journal.append("order", tx="t1", step="printed", certificate="N1")  # journaled: out
    answer = RecoveredOrder(True, (doc("N1"), doc("N2"), doc("N3")), (), ())
    center, printers = Center(answer), Printers(history=frozenset({"N2"}))  # N2's job done
    outcome = run(journal, center, printers, Payment())
    assert printers.printed == ["N3"]  # only the copy that never came out, no fee
    assert sorted(center.reports) == [("N1", True), ("N2", True), ("N3", True)]
    assert outcome.certificates == 1 and outcome.reprint == ()
    assert unfinished(journal) == []


def test_a_printer_that_cannot_print_leaves_the_copies_to_the_clerk(journal: Journal) -> None:
    paid(journal, numbers=("N1", "N2"))
    answer = RecoveredOrder(True, (doc("N2"),), ("N1",), ())
    center, printers = Center(answer), Printers(ready=False)
    outcome = run(journal, center, printers, Payment())
    assert printers.printed == [] and center.reports == [("N2", False)]
    assert outcome.reprint == ("N2",)
    # asked again at the next start (the clerk's list lives in memory), never refunded
    assert [u.tx for u in unfinished(journal)] == ["t1"]


def test_a_print_failing_part_way_reports_each_copy(journal: Journal) -> None:
    paid(journal, numbers=("N1", "N2"))
    answer = RecoveredOrder(True, (doc("N1"), doc("N2")), (), ())
    center, printers = Center(answer), Printers(fail_after=1)
    outcome = run(journal, center, printers, Payment())
    assert center.reports == [("N1", True), ("N2", False)]
    assert outcome.certificates == 1 and outcome.reprint == ("N2",)


def test_the_center_unreachable_leaves_the_session_for_later(journal: Journal) -> None:
    paid(journal)
    center, payment = Center(down=True), Payment()
    outcome = run(journal, center, Printers(), payment)
    assert outcome.waiting == 1 and payment.refunded == []
    assert [u.tx for u in unfinished(journal)] == ["t1"]


def test_finished_and_refunded_sessions_are_left_alone(journal: Journal) -> None:
    paid(journal, tx="t1", numbers=("N1",))
    journal.append("order", tx="t1", step="printed", certificate="N1")  # a normal session
    paid(journal, tx="t2")
    journal.append("tx_open", tx="refund-t2", amount=400, refunds="t2")
    journal.append("fee_refunded", tx="refund-t2", amount=400, refunds="t2")  # issue failed
    journal.append("tx_open", tx="t3", amount=300)  # a payment that never captured a fee
    journal.append("tx_ref", tx="t3", order="o3")
    assert unfinished(journal) == []


def test_the_reports_show_what_is_unfinished_and_what_recovery_did(journal: Journal) -> None:
    from datetime import datetime

    from host.payment.report import TOKYO, build_day_report, build_report

    paid(journal, tx="t1")
    paid(journal, tx="t2", numbers=("N1",))
    before = build_report(journal)
    assert [u["tx"] for u in before.unfinished_orders] == ["t1", "t2"]
    assert not before.balanced  # fees that bought nothing yet are open items
    center = Center(RecoveredOrder(False, (), (), ()))
    run(journal, center, Printers(), Payment())  # both voided: refunded (stand-in desk)
    after = build_report(journal)
    assert after.unfinished_orders == []
    assert [(r["tx"], r["outcome"]) for r in after.recovered] == [("t1", "refunded"),
                                                                   ("t2", "refunded")]
    day = datetime.fromtimestamp(1_800_000_000.0, TOKYO).date()
    assert build_day_report(journal, day)["recovered_sessions"] == {"refunded": 2}
