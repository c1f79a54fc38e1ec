"""The payment state machine end to end: real drivers, simulated devices on ptys, a real
SQLite journal. Every test ends by checking the journal balances."""

from __future__ import annotations

from host.payment.desk import CashDesk, PaymentState
from sim.cash.server import CashSim


def assert_balanced(desk: CashDesk) -> None:
    for tx, b in desk.journal.balances().items():
        assert b.closed, f"transaction {tx} left open"
        assert b.balanced, f"transaction {tx} unbalanced: {b}"
        assert b.owed == b.vouchered


def test_exact_money_with_coins(desk: CashDesk, sim: CashSim) -> None:
    sim.queue_coins(100, 100, 100)
    pay = desk.begin(300)
    assert pay.collect()
    pay.capture_fee()
    result = pay.give_change()
    assert (result.paid, result.owed) == (0, 0)
    assert pay.state is PaymentState.CLOSED
    assert sim.totals() == {"coins_in": 300, "bills_in": 0, "paid_out": 0}
    assert_balanced(desk)


def test_bill_with_change(desk: CashDesk, sim: CashSim) -> None:
    sim.insert_bill(1000)
    pay = desk.begin(300)
    assert pay.collect()
    assert pay.paid == 1000
    pay.capture_fee()
    result = pay.give_change()
    assert (result.paid, result.owed) == (700, 0)
    assert sim.totals() == {"coins_in": 0, "bills_in": 1000, "paid_out": 700}
    assert sim.hoppers[4].paid_total == 1 and sim.hoppers[3].paid_total == 2
    assert_balanced(desk)


def test_several_coins_with_change(desk: CashDesk, sim: CashSim) -> None:
    sim.queue_coins(100, 50, 10, 10, 10, 10, 10, 500)
    pay = desk.begin(300)
    credits: list[int] = []
    pay.listeners.append(lambda p: credits.append(p.paid))
    assert pay.collect()
    assert pay.paid == 700
    assert credits == [100, 150, 160, 170, 180, 190, 200, 700]
    pay.capture_fee()
    assert pay.give_change().paid == 400
    assert sim.hoppers[3].paid_total == 4
    assert sim.totals()["coins_in"] == 700
    assert_balanced(desk)


def test_credit_is_journaled_before_listeners_hear_of_it(desk: CashDesk, sim: CashSim) -> None:
    seen: list[int] = []

    def listener(p: object) -> None:
        seen.append(sum(e.amount for e in desk.journal.entries() if e.kind == "credit"))

    sim.queue_coins(100, 100)
    pay = desk.begin(200)
    pay.listeners.append(listener)
    assert pay.collect()
    assert seen == [100, 200]


def test_coin_needing_impossible_change_is_inhibited(desk: CashDesk, sim: CashSim) -> None:
    # 10 + 500 for a 300 fee needs 210 in change; the hoppers hold only 100s and 500s.
    sim.queue_coins(10, 500)
    pay = desk.begin(300)
    assert not pay.collect(timeout_s=0.5)
    assert pay.paid == 10
    assert 500 not in pay.enabled and 100 in pay.enabled
    assert pay.exact_change_only
    assert sim.acceptor.queued  # the 500 never went in
    result = pay.cancel()
    assert (result.paid, result.owed) == (0, 10)  # no 10-yen hopper: a voucher
    assert result.voucher is not None
    assert_balanced(desk)


def test_empty_hoppers_mean_exact_change_only(make_desk: object, sim: CashSim) -> None:
    from host.payment.config import HopperConfig

    desk: CashDesk = make_desk(  # type: ignore[operator]
        hoppers=(HopperConfig(3, 100, 3), HopperConfig(4, 500, 3))  # all within the margin
    )
    desk.start()
    pay = desk.begin(300)
    desk.poll()
    assert pay.exact_change_only
    assert pay.enabled == frozenset({10, 50, 100})
    assert sim.validator.inhibited  # no bill can be changed: the validator is off
    sim.insert_bill(1000)
    sim.queue_coins(100, 100, 100)
    assert pay.collect()
    pay.capture_fee()
    assert pay.give_change().paid == 0
    assert sim.totals()["bills_in"] == 0
    assert_balanced(desk)


def test_hopper_empty_mid_payout_pays_with_others_then_vouchers(
    desk: CashDesk, sim: CashSim
) -> None:
    sim.hopper_empty_after(4, 0)  # the 500 hopper is really empty despite its count
    sim.hopper_empty_after(3, 3)  # and the 100 hopper runs dry after three coins
    sim.insert_bill(1000)
    pay = desk.begin(200)
    assert pay.collect()
    pay.capture_fee()
    result = pay.give_change()
    assert (result.paid, result.owed) == (300, 500)
    assert result.voucher is not None
    assert sim.totals()["paid_out"] == 300
    faults = [e for e in desk.journal.entries() if e.kind == "device_fault"]
    assert {f.device for f in faults} >= {"hopper3", "hopper4"}
    assert_balanced(desk)


def test_cancel_returns_stacked_money(desk: CashDesk, sim: CashSim) -> None:
    sim.queue_coins(100, 100)
    pay = desk.begin(300)
    assert not pay.collect(timeout_s=0.3)  # the customer walks away: timeout
    result = pay.cancel()
    assert (result.paid, result.owed) == (200, 0)
    refunds = [e for e in desk.journal.entries() if e.kind == "refund_paid"]
    assert sum(e.amount for e in refunds) == 200
    assert sim.totals()["paid_out"] == 200
    assert_balanced(desk)


def test_cancel_with_bill_in_escrow_returns_it(desk: CashDesk, sim: CashSim) -> None:
    pay = desk.begin(300)
    desk.poll()
    sim.validator.bills.append((1000, "genuine"))
    # Drive the validator to escrow by hand, then cancel before the host decides.
    for _ in range(3):
        sim.validator.status()
    assert sim.validator.state == 0x13  # escrow
    result = pay.cancel()
    assert result.paid == 0 and result.owed == 0
    assert sim.totals()["bills_in"] == 0
    assert_balanced(desk)


def test_no_payment_no_acceptance(desk: CashDesk, sim: CashSim) -> None:
    desk.poll()
    assert not sim.acceptor.master
    assert sim.validator.inhibited
    assert not sim.insert_coin(100)


def test_counterfeit_and_string_coins_are_no_money(desk: CashDesk, sim: CashSim) -> None:
    pay = desk.begin(200)
    desk.poll()
    sim.insert_coin(100, "counterfeit")
    sim.insert_coin(100, "string")
    sim.insert_coin(100, "slug")
    sim.insert_bill(1000, "counterfeit")
    for _ in range(10):
        desk.poll()
    assert pay.paid == 0
    kinds = [
        (e.kind, e.detail.get("event") or e.detail.get("code")) for e in desk.journal.entries()
    ]
    assert ("device_event", "reject coin") in kinds
    assert ("device_fault", "coin on string") in kinds
    assert ("device_event", "reject slug") in kinds
    pay.cancel()
    assert_balanced(desk)


def test_lost_stack_ack_still_credits_the_bill_once(desk: CashDesk, sim: CashSim) -> None:
    sim.drop_replies("id003", 1, only=0x41)  # the ACK of STACK-1 is lost
    sim.insert_bill(1000)
    pay = desk.begin(300)
    assert pay.collect()
    assert pay.paid == 1000
    pay.capture_fee()
    pay.give_change()
    assert sim.totals()["bills_in"] == 1000
    assert_balanced(desk)


def test_validator_back_in_service_after_a_jam(desk: CashDesk, sim: CashSim) -> None:
    sim.jam()
    pay = desk.begin(300)
    for _ in range(3):
        desk.poll()
    assert "bill" in desk.out_of_service and 1000 not in pay.enabled
    sim.jam(False)
    for _ in range(3):
        desk.poll()
    assert "bill" not in desk.out_of_service and 1000 in pay.enabled
    sim.insert_bill(1000)
    assert pay.collect()
    pay.capture_fee()
    assert pay.give_change().paid == 700
    assert_balanced(desk)


def test_noise_on_both_wires_during_a_payment_credits_nothing(desk: CashDesk, sim: CashSim) -> None:
    import random

    rng = random.Random(4)
    pay = desk.begin(300)
    for _ in range(40):
        sim.inject("cctalk", rng.randbytes(rng.randrange(1, 40)))
        sim.inject("id003", rng.randbytes(rng.randrange(1, 40)))
        desk.poll()
    assert pay.paid == 0
    assert not [e for e in desk.journal.entries() if e.kind == "credit"]
    pay.cancel()
    assert_balanced(desk)


def test_refill_lifts_exact_change_only(make_desk: object, sim: CashSim) -> None:
    from host.payment.config import HopperConfig

    desk: CashDesk = make_desk(  # type: ignore[operator]
        hoppers=(HopperConfig(3, 100, 0), HopperConfig(4, 500, 0))
    )
    desk.start()
    pay = desk.begin(300)
    desk.poll()
    assert pay.exact_change_only
    desk.refill("hopper3", 10)
    desk.refill("hopper4", 10)
    pay.update_inhibits()
    assert not pay.exact_change_only and {500, 1000} <= pay.enabled
    pay.cancel()
    assert desk.inventory == {"hopper3": 10, "hopper4": 10}


def coin_in_flight(sim: CashSim, value: int) -> None:
    """A coin validated just before the inhibit reached the acceptor."""
    with sim.lock:
        pos = sim.acceptor.position_of(value)
        assert pos is not None
        sim.acceptor._event(pos, 1)
        sim.acceptor.accepted_total += value


def test_late_coin_joins_the_paying_customers_change(desk: CashDesk, sim: CashSim) -> None:
    sim.queue_coins(500)
    pay = desk.begin(300)
    assert pay.collect()
    coin_in_flight(sim, 100)
    desk.poll()
    assert pay.paid == 600
    pay.capture_fee()
    assert pay.give_change().paid == 300
    assert_balanced(desk)


def test_stray_coin_after_a_payment_is_vouchered_at_once(desk: CashDesk, sim: CashSim) -> None:
    sim.queue_coins(100, 100)
    pay = desk.begin(200)
    assert pay.collect()
    pay.capture_fee()
    pay.give_change()
    coin_in_flight(sim, 500)
    desk.poll()
    stray = [b for b in desk.journal.balances().values() if b.tx != pay.tx]
    assert len(stray) == 1 and stray[0].money_in == 500 and stray[0].vouchered == 500
    assert desk.journal.open_transactions() == []
    assert_balanced(desk)


def test_misuse_gets_typed_errors_and_loses_nothing(desk: CashDesk, sim: CashSim) -> None:
    import pytest

    from host.payment.desk import PaymentError

    with pytest.raises(PaymentError):
        desk.begin(0)
    pay = desk.begin(300)
    with pytest.raises(PaymentError):
        desk.begin(300)  # one payment at a time
    with pytest.raises(PaymentError):
        pay.capture_fee()  # not paid yet
    with pytest.raises(PaymentError):
        pay.give_change()
    with pytest.raises(PaymentError):
        desk.refill("hopper9", 10)
    sim.queue_coins(100, 100, 100)
    assert pay.collect()
    pay.capture_fee()
    with pytest.raises(PaymentError):
        pay.cancel()  # the fee is captured: no cancel, change only
    pay.give_change()
    assert_balanced(desk)


def test_escrow_auto_return_while_the_host_waits_is_no_money(desk: CashDesk, sim: CashSim) -> None:
    sim.escrow_timeout(4)
    sim.lose_commands(0x41, 100)  # no STACK ever reaches the validator
    sim.insert_bill(1000)
    pay = desk.begin(300)
    assert not pay.collect(timeout_s=0.3)  # waits for the bill in flight, then gives up
    result = pay.cancel()  # drains: the unit returns the bill by itself
    assert not result.uncertain
    assert pay.paid == 0 and sim.totals()["bills_in"] == 0
    events = [e.detail.get("event") for e in desk.journal.entries(pay.tx)]
    assert "bill returned instead of stacked" in events  # the stack intent is resolved
    assert_balanced(desk)
