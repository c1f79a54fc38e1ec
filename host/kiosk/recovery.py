"""Finishing, at start-up, the sessions a host that died left owing something.

The cash desk's own recovery (`host.payment.desk`) runs first, as the desk starts: credits
never captured go back (coins from the hoppers, else a printed voucher), change still owed is
paid or vouchered, an interrupted payout is settled from the hoppers' counters. What it cannot
know is whether a captured fee bought anything. That is decided here, from the journal's
``order`` steps and the center's answer by idempotency key, before the first citizen is
served:

- fee captured, the center never asked (no ``paying`` step) or the center says the order was
  not paid: the center voids the order (a payment request still in flight can no longer
  issue it) and the fee goes back — coins where the hoppers allow, else a printed voucher;
- issued: each copy that did not come out (not journaled printed, and the printer's job
  history does not show it completed) is printed now, same number, no fee, and its result
  reported; if the printer cannot print, the center is told it failed and the copy waits on
  the clerk's reprint list;
- the center unreachable: the session stays unsettled and is tried again (the kiosk is out of
  service without its center anyway).

Each finished session gets a ``settled`` step, so it is never finished twice; every step is
idempotent, so a host that dies during recovery recovers again. The screen then tells the
citizen, who may still be standing there, what came out (`E.Recovered`).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from host.payment.desk import PaymentError
from host.payment.journal import Journal
from host.payment.orders import Unfinished, unfinished
from host.session import events as E
from host.session.ports import CenterDown, CenterRefusal, PrintError

from .center_client import CenterClient, RecoveredOrder
from .payment_port import DeskPayment
from .printer_port import KioskPrinters

log = logging.getLogger("kofu.kiosk.recovery")


@dataclass
class RecoveryOutcome:
    """What recovery did at this start, for the screen."""

    certificates: int = 0  # copies printed now
    reprint: tuple[str, ...] = ()  # copies waiting for a clerk's reprint
    waiting: int = 0  # sessions left for the next attempt (the center unreachable)
    lang: str = "ja"  # the language of the last interrupted session
    given_back_yen: int = 0  # coins paid out and vouchers printed at this start


# A copy whose print failed stays on the clerk's list (asked again at each start) for as long
# as the center lets a clerk reprint it; after that its session is closed.
REPRINT_DAYS = 1


class Recovery:
    def __init__(
        self,
        journal: Journal,
        payment: DeskPayment,
        center: CenterClient,
        printers: KioskPrinters,
    ) -> None:
        self.journal = journal
        self.payment = payment
        self.center = center
        self.printers = printers

    async def run(self, since: int = 0) -> RecoveryOutcome:
        """Finish every unfinished session; ``since``: the journal's last seq before the
        devices started (what the desk's own recovery gave back counts too)."""
        outcome = RecoveryOutcome()
        for u in unfinished(self.journal):
            outcome.lang = u.lang
            try:
                await self._finish(u, outcome)
            except CenterDown:
                outcome.waiting += 1
                log.warning("an interrupted session waits for the center")
        outcome.given_back_yen = given_back_since(self.journal, since)
        return outcome

    def _settle(self, u: Unfinished, outcome: str) -> None:
        self.journal.append("order", tx=u.tx, step="settled", outcome=outcome)
        log.info("interrupted session settled: %s", outcome)

    async def _finish(self, u: Unfinished, outcome: RecoveryOutcome) -> None:
        answer = await self._ask(u)
        if answer is None or not answer.issued:
            await self._refund(u)
            return
        pending = {d.certificate_number: d for d in answer.pending}
        came_out = {n for n in pending if n in u.printed}
        unknown = tuple(n for n in pending if n not in came_out)
        if unknown:
            try:
                came_out |= await self.printers.came_out(unknown)
            except Exception as exc:  # the printer unreachable: it cannot print either
                log.warning("printer job history unreadable: %s", type(exc).__name__)
        for number in sorted(came_out):
            await self.center.report_print((number,), True, "")  # out, never reported
        missing = tuple(d for n, d in pending.items() if n not in came_out)
        failed = list(answer.failed)
        if missing:
            failed += await self._print(missing, outcome)
        if not failed:
            self._settle(u, "printed")
            return
        outcome.reprint += tuple(n for n in failed if n not in outcome.reprint)
        if self.journal.now() - u.started > REPRINT_DAYS * 86400:
            self._settle(u, "reprint")

    async def _ask(self, u: Unfinished) -> RecoveredOrder | None:
        # No key: the center was never asked; a fresh key voids the order all the same.
        try:
            return await self.center.recover(u.order, u.key or uuid.uuid4().hex)
        except CenterRefusal as exc:
            # The center does not know this order for this kiosk (or it was paid with
            # another key, which this kiosk never sent): it issued nothing for this fee.
            log.warning("center refused recovery: %s", exc.reason.value)
            return None

    async def _print(self, docs: tuple[E.IssuedDocument, ...], outcome: RecoveryOutcome
                     ) -> list[str]:  # fmt: skip
        """Print the copies that never came out; returns those still not out."""
        reason = await self.printers.not_ready()
        printed: tuple[str, ...] = ()
        if not reason:
            try:
                await self.printers.print_documents(docs)
                printed = tuple(d.certificate_number for d in docs)
            except PrintError as exc:
                reason, printed = exc.reason, tuple(exc.printed)
        for number in printed:
            await self.center.report_print((number,), True, "")
        outcome.certificates += len(printed)
        left = [d.certificate_number for d in docs if d.certificate_number not in printed]
        for number in left:
            await self.center.report_print((number,), False, reason or "not-ready")
        return left

    async def _refund(self, u: Unfinished) -> None:
        try:
            await self.payment.refund_captured(u.tx, u.fee)
        except PaymentError:
            pass  # refunded already (by a recovery that died before it could settle)
        self._settle(u, "refunded")


def given_back_since(journal: Journal, since: int) -> int:
    """Yen paid out (refunds, change) or put on a voucher after journal seq ``since``."""
    return sum(
        e.amount
        for e in journal.entries()
        if e.seq > since and e.kind in ("refund_paid", "change_paid", "voucher")
    )
