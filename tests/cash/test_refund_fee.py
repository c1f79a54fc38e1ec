"""A fee captured for a certificate the center then did not issue goes back to the citizen as a
refund transaction of its own (`CashDesk.refund_fee`): the money comes out of the hoppers,
the fees drop by it (the municipality is not credited for what it did not issue), and every
transaction balances. Found by the e2e center-outage test: the refund used to be a payout with
no money behind it, so the fees kept the 400 yen and the report did not balance."""

from __future__ import annotations

import asyncio
import time
from datetime import date

import pytest

from host.kiosk.payment_port import DeskPayment
from host.payment.desk import CashDesk, PaymentError
from host.payment.report import build_day_report, build_report, tokyo_today
from host.session import events as E
from sim.cash.server import CashSim


def pay(desk: CashDesk, sim: CashSim, fee: int, coins: list[int]) -> str:
    payment = desk.begin(fee, municipality="131016")
    desk.poll()  # the acceptor learns it may take coins
    for value in coins:
        assert sim.insert_coin(value)
    deadline = time.monotonic() + 5
    while payment.paid < fee and time.monotonic() < deadline:
        payment.collect(timeout_s=0.2)
    payment.capture_fee()
    payment.give_change()
    return payment.tx


def test_a_refunded_fee_leaves_the_fees_and_balances(
    desk: CashDesk, sim: CashSim
) -> None:
    tx = pay(desk, sim, 400, [500])
    assert build_report(desk.journal).fees_captured == 400

    settled = desk.refund_fee(tx, 400)
    assert (settled.paid, settled.owed) == (400, 0)
    report = build_report(desk.journal)
    assert report.money_in == 500
    assert report.paid_out == 500  # 100 change + 400 refunded
    assert report.fees_captured == 0
    assert report.fees_by_municipality == {"131016": 0}
    assert report.balanced and not report.unbalanced and not report.open_transactions
    assert sim.totals()["paid_out"] == 500

    day = build_day_report(desk.journal, tokyo_today(desk.journal.now()))
    assert day["cash_fees_captured_yen"] == 0
    assert day["refunds"] == {"count": 1, "yen": 400}


def test_a_fee_is_refunded_once_and_never_beyond_it(
    desk: CashDesk, sim: CashSim
) -> None:
    tx = pay(desk, sim, 400, [500])
    with pytest.raises(PaymentError, match="400 yen fee"):
        desk.refund_fee(tx, 500)
    desk.refund_fee(tx, 400)
    with pytest.raises(PaymentError, match="already refunded"):
        desk.refund_fee(tx, 400)
    with pytest.raises(PaymentError, match="no captured fee"):
        desk.refund_fee("no-such-tx", 400)
    assert sim.totals()["paid_out"] == 500
    assert build_report(desk.journal).balanced


def test_the_kiosk_refund_after_payment_goes_through_the_fees(
    desk: CashDesk, sim: CashSim
) -> None:
    """The session's path: payment complete (fee captured, change given), the center fails,
    the session asks for the fee back."""
    port = DeskPayment(desk)

    async def session() -> E.RefundDone:
        await port.start(400)
        while not await asyncio.to_thread(sim.insert_coin, 500):
            await asyncio.sleep(0.05)  # the collection has not opened the acceptor yet
        async for ev in port.events():
            if isinstance(ev, E.PaymentComplete):
                break
        return await port.refund(400)

    try:
        done = asyncio.run(asyncio.wait_for(session(), 10))
    finally:
        port.close()
    assert (done.refunded_yen, done.short_yen) == (400, 0)
    report = build_report(desk.journal)
    assert (report.money_in, report.fees_captured, report.paid_out) == (500, 0, 500)
    assert report.balanced and not report.open_transactions


def test_day_report_counts_refunds_against_that_days_fees(
    desk: CashDesk, sim: CashSim
) -> None:
    tx1 = pay(desk, sim, 400, [500])
    pay(desk, sim, 300, [100, 100, 100])
    desk.refund_fee(tx1, 400)
    today: date = tokyo_today(desk.journal.now())
    assert build_day_report(desk.journal, today)["cash_fees_captured_yen"] == 300
