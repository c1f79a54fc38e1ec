"""Recovery at start: the journal reconciled with hopper counters, ccTalk event counters and
ID-003 power-up statuses. Each test 'restarts' by building a new desk on the same journal."""

from __future__ import annotations

from collections.abc import Callable

from host.payment.desk import CashDesk, PaymentState
from sim.cash.server import CashSim

MakeDesk = Callable[..., CashDesk]


def assert_balanced(desk: CashDesk) -> None:
    for tx, b in desk.journal.balances().items():
        assert b.closed and b.balanced, f"{tx}: {b}"


def test_power_cut_mid_payout_is_finished_from_hopper_counters(
    make_desk: MakeDesk, sim: CashSim
) -> None:
    desk = make_desk()
    desk.start()
    sim.insert_bill(1000)
    pay = desk.begin(300)
    assert pay.collect()
    pay.capture_fee()
    sim.hopper_power_cut_after(3, 1)  # 500 paid, then 1 of 2 hundreds, then darkness
    result = pay.give_change()
    assert result.uncertain and pay.state is PaymentState.OPEN_ITEM
    b = desk.journal.balances()[pay.tx]
    assert b.open_dispenses == 1 and not b.closed  # an open item, not a guess
    assert "hopper3" in desk.out_of_service
    report = desk.recover()
    assert report.still_open == [pay.tx]  # hopper still dark: still unknown
    sim.hopper_power_on(3)
    desk.devices.close()
    desk2 = make_desk()
    report = desk2.start()
    assert report.dispenses_resolved == 1 and report.closed == [pay.tx]
    b = desk2.journal.balances()[pay.tx]
    # the interrupted payout is never repeated; the 100 yen still due is paid by a new one
    assert (b.paid_out, b.owed) == (700, 0)
    assert sim.totals()["paid_out"] == 700
    dispenses = [e for e in desk2.journal.entries(pay.tx) if e.kind == "dispense"]
    assert [e.amount for e in dispenses] == [500, 200, 100]
    assert sim.hoppers[3].paid_total == 2
    assert_balanced(desk2)


def test_coins_taken_while_the_host_was_down_are_credited_once(
    make_desk: MakeDesk, sim: CashSim
) -> None:
    desk = make_desk()
    desk.start()
    pay = desk.begin(300)
    sim.queue_coins(100)
    for _ in range(20):
        desk.poll()
        if pay.paid:
            break
    assert pay.paid == 100
    # The host dies with the slot open; the customer drops two more coins.
    sim.insert_coin(100)
    sim.insert_coin(500)
    desk.devices.close()
    desk2 = make_desk()
    report = desk2.start()
    assert report.credits_recovered == 2
    b = desk2.journal.balances()[pay.tx]
    assert b.money_in == 700 and b.paid_out == 700 and b.owed == 0  # back in coins at once
    desk2.devices.close()
    desk3 = make_desk()
    assert desk3.start().credits_recovered == 0  # a second restart credits nothing again
    assert sum(e.amount for e in desk3.journal.entries() if e.kind == "credit") == 700
    assert_balanced(desk3)


def test_bill_in_stacker_at_power_up_is_credited_from_the_stack_intent(
    make_desk: MakeDesk, sim: CashSim
) -> None:
    desk = make_desk()
    desk.start()
    pay = desk.begin(300)
    sim.insert_bill(1000)
    for _ in range(30):
        desk.poll()
        if sim.validator.state == 0x14:  # stacking: the host asked, no VEND VALID yet
            break
    assert [e.kind for e in desk.journal.entries(pay.tx)][-1] == "bill_stack"
    sim.validator_power_cut()
    desk.devices.close()
    desk2 = make_desk()
    report = desk2.start()
    assert report.bills_resolved == 1
    b = desk2.journal.balances()[pay.tx]
    assert b.money_in == 1000 == sim.totals()["bills_in"]
    assert_balanced(desk2)


def test_bill_in_acceptor_at_power_up_is_no_money(make_desk: MakeDesk, sim: CashSim) -> None:
    desk = make_desk()
    desk.start()
    pay = desk.begin(300)
    sim.insert_bill(1000)
    for _ in range(30):
        desk.poll()
        if sim.validator.state == 0x13:
            break
    sim.validator_power_cut()
    desk.devices.close()
    desk2 = make_desk()
    desk2.start()
    b = desk2.journal.balances()[pay.tx]
    assert b.money_in == 0 and sim.totals()["bills_in"] == 0
    assert_balanced(desk2)


def test_vend_valid_already_credited_is_only_acknowledged(
    make_desk: MakeDesk, sim: CashSim
) -> None:
    desk = make_desk()
    desk.start()
    pay = desk.begin(300)
    sim.insert_bill(1000)
    # Journal the credit but 'die' before the ACK: swallow acknowledge_vend once.
    validator = desk.devices.validator
    assert validator is not None
    original = validator.acknowledge_vend
    validator.acknowledge_vend = lambda: None  # type: ignore[method-assign]
    for _ in range(30):
        desk.poll()
        if pay.paid:
            break
    validator.acknowledge_vend = original  # type: ignore[method-assign]
    assert sim.validator.state == 0x15
    desk.devices.close()
    desk2 = make_desk()
    desk2.start()
    assert sum(e.amount for e in desk2.journal.entries() if e.kind == "credit") == 1000
    assert sim.totals()["bills_in"] == 1000
    assert_balanced(desk2)


def test_validator_power_cut_mid_stack_during_a_live_payment(
    make_desk: MakeDesk, sim: CashSim
) -> None:
    desk = make_desk()
    desk.start()
    pay = desk.begin(300)
    sim.insert_bill(1000)
    for _ in range(30):
        desk.poll()
        if sim.validator.state == 0x14:
            break
    sim.validator_power_cut()  # the bill had reached the stacker
    assert pay.collect(timeout_s=1)
    assert pay.paid == 1000
    pay.capture_fee()
    assert pay.give_change().paid == 700
    assert sim.totals() == {"coins_in": 0, "bills_in": 1000, "paid_out": 700}
    assert_balanced(desk)


def test_a_buffer_overrun_while_the_host_was_down_needs_no_technician(
    make_desk: MakeDesk, sim: CashSim
) -> None:
    """Seven coins while nobody polled: the acceptor keeps five events. The five are credited
    and given back; the two lost ones are a fault the clerk sees (their value is unknown, the
    count is not); the acceptor stays in service — nothing went wrong with it."""
    desk = make_desk()
    desk.start()
    pay = desk.begin(300)
    desk.poll()
    for _ in range(7):
        assert sim.insert_coin(100)
    desk.devices.close()  # the host died before it polled again
    desk2 = make_desk()
    report = desk2.start()
    assert report.credits_recovered == 5
    b = desk2.journal.balances()[pay.tx]
    assert b.money_in == 500 and b.paid_out == 500 and b.closed
    faults = [e for e in desk2.journal.entries() if e.kind == "device_fault"]
    assert any("lost 2 events while the host was down" in str(e.detail) for e in faults)
    assert "coin" not in desk2.out_of_service
    acceptor = desk2.devices.acceptor
    assert acceptor is not None and not acceptor.out_of_service
    assert_balanced(desk2)


def test_cancel_with_stack_outcome_unknown_leaves_an_open_item(
    make_desk: MakeDesk, sim: CashSim
) -> None:
    desk = make_desk()
    desk.start()
    pay = desk.begin(300)
    sim.insert_bill(1000)
    for _ in range(30):
        desk.poll()
        if sim.validator.state == 0x14:
            break
    sim.jam()  # the validator stops reporting the bill's fate
    result = pay.cancel()
    assert result.uncertain and pay.state is PaymentState.OPEN_ITEM
    assert not desk.journal.balances()[pay.tx].closed
    sim.jam(False)
    sim.validator_power_cut()
    desk.devices.close()
    desk2 = make_desk()
    desk2.start()
    b = desk2.journal.balances()[pay.tx]
    assert b.money_in == sim.totals()["bills_in"] == 1000
    assert b.paid_out == 1000 and b.owed == 0  # the stacked bill's value back in coins
    assert_balanced(desk2)


def test_idle_hopper_check_takes_a_dead_hopper_out_and_back(
    make_desk: MakeDesk, sim: CashSim
) -> None:
    desk = make_desk()
    desk.start()
    with sim.lock:
        sim.hoppers[4].powered = False
    desk.check_hoppers()
    assert "hopper4" in desk.out_of_service
    pay = desk.begin(300)
    desk.poll()
    assert 500 in pay.enabled  # 200 change still comes from the 100-yen hopper
    assert 1000 in pay.enabled  # 700 = seven 100s
    sim.hopper_power_on(4)
    desk.check_hoppers()
    assert "hopper4" not in desk.out_of_service
    faults = [e.detail["code"] for e in desk.journal.entries() if e.kind == "device_fault"]
    assert "not answering" in faults
    pay.cancel()
    assert_balanced(desk)
