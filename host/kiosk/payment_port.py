"""The session's PaymentPort over `host.payment.CashDesk`, whose API blocks: it runs on a
worker thread of its own; credits come back to the loop as MoneyInserted.

The desk collects, captures the fee and gives change before the session asks the center to
issue (SPEC §2.6: the change is in the tray when printing starts). If issuing then fails the
session asks for the fee back: that is a payout of its own, journaled as a refund.

The device manager may replace the desk (its ports were reopened after a fault) while no
payment runs; ``lock`` is held by a collection or a refund, so the manager's idle checks never
talk to the devices at the same time.

Between collections (at rest, while the center issues, while printing) ``watch`` keeps polling
the acceptors: a coin dropped into an inhibited acceptor comes back, and that is an event too.
A ccTalk acceptor keeps five; unpolled, the sixth overflows its buffer, which the driver must
take as money it cannot account for (out of service until a clerk looks).

Each transaction names what it pays for, in the journal only (``tx_ref`` entries, never in a
log): the center order at the start of the payment (``order_of``), and the certificate numbers
and issuing municipality once the center issued (``issued``), which the per-municipality split
of `kofu cash report` reads.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor

from host.payment.desk import CashDesk, Payment, PaymentState, Settlement
from host.payment.orders import paying_transaction
from host.session import events as E
from host.session.ports import PortError

from .center_client import CenterClient
from .printer_port import municipality_of

log = logging.getLogger("kofu.kiosk.cash")


def name_transactions(center: CenterClient, payment: DeskPayment) -> None:
    """Each cash transaction names the order it pays (at the start of the payment), the
    idempotency key it is paid with (durably, before the center is asked) and the
    certificates issued for it (once the center issued), in the journal."""
    payment.order_of = lambda: center.order_id
    center.on_paying = payment.paying
    center.on_issued = payment.issued


class CashUnavailable(PortError):
    """No cash desk runs (its devices are down and being restarted)."""


class DeskPayment:
    def __init__(
        self, desk: CashDesk | None = None, *, order_of: Callable[[], str] | None = None
    ) -> None:
        self._desk = desk
        self.order_of = order_of  # the center order this session is paying (its id), or ""
        self.lock = threading.Lock()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="kofu-cash")
        self._events: asyncio.Queue[E.Event] = asyncio.Queue()
        self._stop = threading.Event()
        self._payment: Payment | None = None
        self._order = ""  # the order the last payment was started for
        self.lang_of: Callable[[], str] = lambda: "ja"  # the session's language, for recovery
        self._numbers: dict[str, str] = {}  # certificate number -> its paying transaction
        self._collecting: asyncio.Future[None] | None = None
        self._closed = threading.Event()

    @property
    def desk(self) -> CashDesk:
        if self._desk is None:
            raise CashUnavailable("no cash desk")
        return self._desk

    def attach(self, desk: CashDesk) -> None:
        self._desk = desk

    def detach(self, desk: CashDesk) -> None:
        if self._desk is desk:
            self._desk = None

    def _emit(self, loop: asyncio.AbstractEventLoop, ev: E.Event) -> None:
        loop.call_soon_threadsafe(self._events.put_nowait, ev)

    def _collect(self, fee: int, loop: asyncio.AbstractEventLoop) -> None:
        with self.lock:
            self._collect_locked(fee, loop)

    def _collect_locked(self, fee: int, loop: asyncio.AbstractEventLoop) -> None:
        payment = self.desk.begin(fee)
        self._payment = payment
        order = self.order_of() if self.order_of is not None else ""
        self._order = order
        if order:
            self.desk.journal.append("tx_ref", tx=payment.tx, order=order)
        payment.listeners.append(lambda p: self._emit(loop, E.MoneyInserted(p.paid)))
        while not self._stop.is_set() and payment.state is PaymentState.COLLECTING:
            payment.collect(timeout_s=0.2)
        if self._stop.is_set() and payment.state is PaymentState.COLLECTING and not payment.paid:
            # Stopped with nothing paid (the citizen cancelled at once): no refund will come
            # to close the transaction, and an open one would refuse the next citizen's.
            payment.cancel()
            return
        if payment.state is PaymentState.PAID and not self._stop.is_set():
            payment.capture_fee()
            settled = payment.give_change()
            if settled.owed:
                log.warning("change short by %d yen: voucher", settled.owed)
            self._emit(loop, E.PaymentComplete(payment.paid, payment.paid - fee))

    async def start(self, fee_yen: int) -> None:
        self._stop.clear()
        loop = asyncio.get_running_loop()
        self._collecting = loop.run_in_executor(None, self._collect, fee_yen, loop)

    async def stop(self) -> None:
        self._stop.set()
        if self._collecting is not None:
            await asyncio.shield(self._collecting)

    def _refund(self, amount: int) -> Settlement:
        with self.lock:
            return self._refund_locked(amount)

    def _refund_locked(self, amount: int) -> Settlement:
        payment = self._payment
        if payment is not None and payment.state in (PaymentState.COLLECTING, PaymentState.PAID):
            return payment.cancel()
        if payment is not None and not payment.paid and amount == 0:
            return Settlement(0, 0, 0)  # closed when stopped: nothing was paid
        if payment is None:
            raise CashUnavailable("no payment to refund")
        # The fee was captured and the center did not issue: the desk gives it back as a
        # refund transaction of its own, taken out of the fees.
        return self.desk.refund_fee(payment.tx, amount)

    async def refund(self, amount_yen: int) -> E.RefundDone:
        await self.stop()
        settled = await asyncio.get_running_loop().run_in_executor(
            self._pool, self._refund, amount_yen
        )
        return E.RefundDone(settled.paid, settled.owed)

    def _paying(self, order: str, key: str) -> None:
        payment = self._payment
        if payment is None or self._desk is None or order != self._order:
            raise CashUnavailable("no payment for this order")  # never issue unjournaled
        self._desk.journal.append(
            "order", tx=payment.tx, step="paying", order=order, key=key, lang=self.lang_of()
        )

    async def paying(self, order: str, key: str) -> None:
        """The fee of ``order`` is about to be paid at the center with ``key``: journaled
        (durable) first, so a host that dies before the answer can ask the center by key
        whether it issued, and give the money back if not. Raises if it cannot be written:
        the center is then not asked at all."""
        await asyncio.get_running_loop().run_in_executor(self._pool, self._paying, order, key)

    def copy_printed(self, number: str) -> None:
        """A copy came out (its print job completed); called from the print thread."""
        desk = self._desk
        if desk is None:
            return  # the printer's job history still says it came out
        try:
            # a clerk's reprint may be of a session before the last one: the journal knows
            tx = self._numbers.get(number) or paying_transaction(desk.journal, number)
            if tx is None:
                return
            desk.journal.append("order", tx=tx, step="printed", certificate=number)
        except Exception as exc:  # the printer's job history still says it came out
            log.warning("printed copy not journaled: %s", type(exc).__name__)

    def _refund_captured(self, tx: str, amount: int) -> Settlement:
        with self.lock:
            return self.desk.refund_fee(tx, amount)

    async def refund_captured(self, tx: str, amount: int) -> Settlement:
        """Recovery: give back the fee transaction ``tx`` captured for an order the center
        never issued (coins, else a printed voucher). Raises PaymentError if it was already."""
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, self._refund_captured, tx, amount
        )

    def _issued(self, order: str, numbers: tuple[str, ...], municipality: str) -> None:
        payment = self._payment
        if payment is None or self._desk is None or order != self._order:
            return  # not what the last payment paid for (no fee was taken): nothing to name
        self._numbers = {n: payment.tx for n in numbers}
        self._desk.journal.append(
            "tx_ref",
            tx=payment.tx,
            order=order,
            certificates=list(numbers),
            municipality=municipality,
        )

    async def issued(self, order: str, documents: tuple[E.IssuedDocument, ...]) -> None:
        """The center issued ``documents`` of ``order`` for the fee this session's payment
        captured: their numbers and issuer are journaled on that transaction. A journal that
        cannot take it must not undo an issue that happened (logged without the ids)."""
        numbers = tuple(d.certificate_number for d in documents)
        try:
            await asyncio.get_running_loop().run_in_executor(
                self._pool, self._issued, order, numbers, municipality_of(documents)
            )
        except Exception as exc:
            log.warning("transaction reference not journaled: %s", type(exc).__name__)

    async def events(self) -> AsyncIterator[E.Event]:
        while True:
            yield await self._events.get()

    def watch(self, every_s: float = 0.3) -> None:
        """Poll the acceptors every ``every_s`` whenever no collection or refund holds the desk
        (a person drops coins faster than 5 per ``every_s`` only by accident)."""
        threading.Thread(
            target=self._watch, args=(every_s,), name="kofu-cash-watch", daemon=True
        ).start()

    def _watch(self, every_s: float) -> None:
        while not self._closed.wait(every_s):
            desk = self._desk
            if desk is None or not self.lock.acquire(blocking=False):
                continue
            try:
                desk.poll()  # late money goes to the live payment or the journal
            except Exception as exc:  # a device fault is the device manager's to report
                log.debug("cash watch: %s", type(exc).__name__)
            finally:
                self.lock.release()

    def close(self) -> None:
        self._closed.set()
        self._stop.set()
        self._pool.shutdown(wait=False)
