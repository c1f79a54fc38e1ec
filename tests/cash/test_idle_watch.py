"""Coins dropped while no payment collects (at rest, while the center issues, while printing)
come back from the inhibited acceptor, and each is an event in its five-deep ccTalk buffer.
The kiosk's watcher (`DeskPayment.watch`) keeps polling so they never overflow it; an overflow
is money the driver cannot account for and takes the acceptor out of service."""

from __future__ import annotations

import time

from host.kiosk.payment_port import DeskPayment
from host.payment.desk import CashDesk
from sim.cash.server import CashSim

COINS = 12  # more than the acceptor's buffer holds


def drop_coins(sim: CashSim) -> None:
    for _ in range(COINS):
        assert sim.insert_coin(100) is False  # inhibited: back in the return cup
        time.sleep(0.05)


def test_unpolled_the_acceptor_overflows_and_goes_out_of_service(
    desk: CashDesk, sim: CashSim
) -> None:
    drop_coins(sim)
    desk.poll()
    acceptor = desk.devices.acceptor
    assert acceptor is not None and acceptor.out_of_service  # type: ignore[attr-defined]


def test_the_watcher_keeps_the_acceptor_in_service(desk: CashDesk, sim: CashSim) -> None:
    payment = DeskPayment(desk)
    payment.watch(every_s=0.1)
    try:
        drop_coins(sim)
        time.sleep(0.3)
        acceptor = desk.devices.acceptor
        assert acceptor is not None and not acceptor.out_of_service  # type: ignore[attr-defined]
        assert sim.acceptor.accepted_total == 0
    finally:
        payment.close()
