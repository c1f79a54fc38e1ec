"""A citizen who cancels on the payment screen before putting in any money: the kiosk stops
the collection and, since nothing is to be refunded, no refund comes to close the
transaction. It must close anyway, or the next citizen's payment cannot begin (found by the
e2e suite: the next session's coins went to the old transaction and its payment never
completed)."""

from __future__ import annotations

import asyncio

from host.kiosk.payment_port import DeskPayment
from host.payment.desk import CashDesk
from host.payment.report import build_report
from host.session import events as E
from sim.cash.server import CashSim


def test_a_payment_stopped_before_any_money_closes_and_the_next_one_completes(
    desk: CashDesk, sim: CashSim
) -> None:
    port = DeskPayment(desk)

    async def two_citizens() -> E.PaymentComplete:
        await port.start(600)
        await asyncio.sleep(0.1)
        await port.stop()  # cancelled at once: nothing inserted, nothing to refund
        await port.start(600)
        while not await asyncio.to_thread(sim.insert_coin, 500):
            await asyncio.sleep(0.05)  # the collection has not opened the acceptor yet
        while not await asyncio.to_thread(sim.insert_coin, 100):
            await asyncio.sleep(0.05)
        async for ev in port.events():
            if isinstance(ev, E.PaymentComplete):
                return ev
        raise AssertionError("no payment")

    try:
        done = asyncio.run(asyncio.wait_for(two_citizens(), 10))
    finally:
        port.close()
    assert (done.paid_yen, done.change_yen) == (600, 0)
    report = build_report(desk.journal)
    assert report.balanced and not report.open_transactions
    assert (report.money_in, report.fees_captured) == (600, 600)
