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
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

from host.payment.desk import CashDesk, Payment, PaymentState, Settlement
from host.session import events as E
from host.session.ports import PortError

log = logging.getLogger("kofu.kiosk.cash")


class CashUnavailable(PortError):
    """No cash desk runs (its devices are down and being restarted)."""


class DeskPayment:
    def __init__(self, desk: CashDesk | None = None) -> None:
        self._desk = desk
        self.lock = threading.Lock()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="kofu-cash")
        self._events: asyncio.Queue[E.Event] = asyncio.Queue()
        self._stop = threading.Event()
        self._payment: Payment | None = None
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
