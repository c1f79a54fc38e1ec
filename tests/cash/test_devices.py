"""The real drivers against the simulated devices on ptys, fault by fault."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from drivers.coin.cctalk import Checksum, Header
from drivers.coin.cctalk_acceptor import CcTalkCoinAcceptor
from drivers.coin.cctalk_hopper import CcTalkHopper
from drivers.coin.cctalk_port import CcTalkPort
from drivers.coin.errors import NoReply, PayoutUncertain
from drivers.coin.id003_validator import Id003Validator
from drivers.coin.interfaces import (
    BillReturned,
    Credit,
    DeviceReset,
    Escrow,
    Fault,
    PowerUp,
    Rejected,
    VendValid,
)
from sim.cash.server import CashSim


@pytest.fixture
def port(sim: CashSim) -> Iterator[CcTalkPort]:
    p = CcTalkPort.open(sim.cctalk_path, reply_timeout_s=0.05)
    yield p
    p.close()


@pytest.fixture
def acceptor(port: CcTalkPort) -> CcTalkCoinAcceptor:
    a = CcTalkCoinAcceptor(port)
    a.start()
    a.poll()  # synchronise the event counter
    return a


@pytest.fixture
def validator(sim: CashSim) -> Iterator[Id003Validator]:
    v = Id003Validator.open(sim.id003_path, reply_timeout_s=0.05)
    yield v
    v.close()


def credits(events: list[object]) -> list[int]:
    return [e.value for e in events if isinstance(e, Credit)]


# -- coin acceptor -------------------------------------------------------------------------


def test_coin_table_is_read_not_assumed(sim: CashSim, port: CcTalkPort) -> None:
    sim.acceptor.table = {7: "JP100A", 2: "JP500B", 9: "JP010A"}
    acc = CcTalkCoinAcceptor(port)
    acc.start()
    assert acc.denominations() == frozenset({10, 100, 500})
    acc.set_enabled(frozenset({100}))
    assert sim.acceptor.mask == 1 << 6 and sim.acceptor.master
    acc.poll()
    sim.insert_coin(100)
    assert not sim.insert_coin(500)
    assert credits(acc.poll()) == [100]


def test_both_500_yen_coins_are_accepted(sim: CashSim, acceptor: CcTalkCoinAcceptor) -> None:
    acceptor.set_enabled(frozenset({500}))
    sim.insert_coin(500, issue="A")
    sim.insert_coin(500, issue="B")
    assert credits(acceptor.poll()) == [500, 500]


def test_inhibits_are_reapplied_after_a_reset(sim: CashSim, acceptor: CcTalkCoinAcceptor) -> None:
    acceptor.set_enabled(frozenset({100, 500}))
    before = sim.acceptor.mask
    sim.insert_coin(100)
    acceptor.poll()
    sim.power_cycle_acceptor()
    assert sim.acceptor.mask == 0 and not sim.acceptor.master
    events = acceptor.poll()
    assert any(isinstance(e, DeviceReset) for e in events)
    assert sim.acceptor.mask == before and sim.acceptor.master
    sim.insert_coin(500)
    assert credits(acceptor.poll()) == [500]


def test_lost_events_take_the_acceptor_out_of_service(
    sim: CashSim, acceptor: CcTalkCoinAcceptor
) -> None:
    acceptor.set_enabled(frozenset({100}))
    for _ in range(7):
        sim.insert_coin(100)
    events = acceptor.poll()
    faults = [e for e in events if isinstance(e, Fault)]
    assert faults and faults[0].out_of_service and "lost 2" in faults[0].code
    assert credits(events) == [100] * 5  # what the buffer still holds is real money
    assert acceptor.out_of_service and not sim.acceptor.master


def test_error_codes_are_reported_not_credited(sim: CashSim, acceptor: CcTalkCoinAcceptor) -> None:
    acceptor.set_enabled(frozenset({100}))
    sim.insert_coin(100, "counterfeit")
    sim.insert_coin(100, "string")
    sim.insert_coin(500)  # inhibited
    events = acceptor.poll()
    assert credits(events) == []
    assert [e.reason for e in events if isinstance(e, Rejected)] == [
        "reject coin",
        "inhibited coin",
    ]
    assert [e.code for e in events if isinstance(e, Fault)] == ["coin on string"]


def test_unsupported_header_gets_no_reply(port: CcTalkPort) -> None:
    with pytest.raises(NoReply):
        port.request(2, 99)


def test_dropped_and_corrupted_replies_are_retried(
    sim: CashSim, acceptor: CcTalkCoinAcceptor
) -> None:
    acceptor.set_enabled(frozenset({100}))
    sim.insert_coin(100)
    sim.drop_replies("cctalk", 1)
    sim.corrupt_replies("cctalk", 1)
    assert credits(acceptor.poll()) == [100]  # third attempt, credited exactly once
    assert credits(acceptor.poll()) == []


def test_line_noise_never_credits(sim: CashSim, acceptor: CcTalkCoinAcceptor) -> None:
    acceptor.set_enabled(frozenset({100, 500}))
    noise = bytes(range(256)) + b"\x01\x0b\x02\x00" + bytes(11)
    for _ in range(5):
        sim.inject("cctalk", noise)
        assert credits(acceptor.poll()) == []


def test_crc16_bus(tmp_path: object) -> None:
    with CashSim(checksum=Checksum.CRC16) as sim:
        port = CcTalkPort.open(sim.cctalk_path, checksum=Checksum.CRC16)
        acc = CcTalkCoinAcceptor(port)
        acc.start()
        acc.poll()
        acc.set_enabled(frozenset({100}))
        sim.insert_coin(100)
        assert credits(acc.poll()) == [100]
        port.close()


# -- hoppers -------------------------------------------------------------------------------


def test_dispense_with_serial_security_bytes(sim: CashSim, port: CcTalkPort) -> None:
    hopper = CcTalkHopper(port, value=100, address=3, status_interval_s=0.005)
    hopper.start()
    assert hopper.dispense(4).paid == 4
    assert sim.hoppers[3].paid_total == 4
    assert hopper.status().paid == 4


def test_wrong_security_bytes_are_refused(sim: CashSim, port: CcTalkPort) -> None:
    hopper = CcTalkHopper(port, value=100, address=3, status_interval_s=0.005)
    hopper.start()
    hopper.serial = b"\x00\x00\x00"
    result = hopper.dispense(2)
    assert result.paid == 0 and result.fault == "dispense refused"
    assert sim.hoppers[3].paid_total == 0


def test_hopper_empty_mid_payout(sim: CashSim, port: CcTalkPort) -> None:
    hopper = CcTalkHopper(port, value=100, address=3, status_interval_s=0.005)
    hopper.start()
    sim.hopper_empty_after(3, 2)
    result = hopper.dispense(5)
    assert (result.paid, result.unpaid) == (2, 3) and result.fault


def test_power_cut_mid_payout_is_uncertain_and_counters_survive(
    sim: CashSim, port: CcTalkPort
) -> None:
    hopper = CcTalkHopper(port, value=100, address=3, status_interval_s=0.005, stall_timeout_s=0.3)
    hopper.start()
    sim.hopper_power_cut_after(3, 2)
    with pytest.raises(PayoutUncertain):
        hopper.dispense(5)
    sim.hopper_power_on(3)
    status = hopper.status()
    assert (status.paid, status.unpaid, status.remaining) == (2, 3, 0)  # never resumes


def test_emergency_stop(sim: CashSim, port: CcTalkPort) -> None:
    hopper = CcTalkHopper(port, value=100, address=3)
    hopper.start()
    port.request(3, Header.DISPENSE, hopper.serial + b"\x05", retry=False)
    assert hopper.emergency_stop() == 5
    assert sim.hoppers[3].paid_total == 0


# -- bill validator ------------------------------------------------------------------------


def drive(v: Id003Validator, polls: int = 8) -> list[object]:
    out: list[object] = []
    for _ in range(polls):
        out += v.poll()
    return out


def test_bill_is_money_only_after_vend_valid_and_ack(
    sim: CashSim, validator: Id003Validator
) -> None:
    assert validator.start() is PowerUp.NORMAL
    assert validator.denominations() == frozenset({1000, 2000, 5000, 10000})
    validator.set_enabled(frozenset({1000}))
    sim.insert_bill(1000)
    events = drive(validator, 4)
    assert Escrow("bill", 1000) in events
    assert sim.totals()["bills_in"] == 0
    validator.stack()
    events = drive(validator, 4)
    assert events == [VendValid("bill", 1000)]  # reported once, held until acknowledged
    assert sim.validator.state == 0x15
    validator.acknowledge_vend()
    drive(validator, 3)
    assert sim.totals()["bills_in"] == 1000


def test_escrow_return(sim: CashSim, validator: Id003Validator) -> None:
    validator.start()
    validator.set_enabled(frozenset({1000}))
    sim.insert_bill(1000)
    drive(validator, 3)
    validator.return_bill()
    assert BillReturned("bill", 1000) in drive(validator, 3)
    assert sim.totals()["bills_in"] == 0


@pytest.mark.parametrize(
    ("bill", "kind", "reason"),
    [
        (1000, "counterfeit", "magnetic pattern error"),
        (5000, "genuine", "inhibited denomination"),
    ],
)
def test_rejections(
    sim: CashSim, validator: Id003Validator, bill: int, kind: str, reason: str
) -> None:
    validator.start()
    validator.set_enabled(frozenset({1000}))
    sim.insert_bill(bill, kind)
    events = drive(validator, 4)
    assert Rejected("bill", reason) in events
    assert not any(isinstance(e, (Escrow, VendValid)) for e in events)


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ("jam", "acceptor jam"),
        ("stacker_full", "stacker full"),
        ("stacker_open", "stacker open"),
        ("cheat", "cheated"),
    ],
)
def test_validator_faults(sim: CashSim, validator: Id003Validator, fault: str, code: str) -> None:
    validator.start()
    validator.set_enabled(frozenset({1000}))
    getattr(sim, fault)()
    events = drive(validator, 3)
    assert Fault("bill", code, True) in events
    assert not any(isinstance(e, (Escrow, VendValid)) for e in events)


def test_power_up_statuses(sim: CashSim, validator: Id003Validator) -> None:
    validator.start()
    validator.set_enabled(frozenset({1000}))
    sim.insert_bill(1000)
    drive(validator, 3)  # escrow
    sim.validator_power_cut()
    assert validator.start() is PowerUp.BILL_IN_ACCEPTOR
    assert sim.totals()["bills_in"] == 0
    validator.set_enabled(frozenset({1000}))
    sim.insert_bill(1000)
    drive(validator, 3)
    validator.stack()
    drive(validator, 2)  # vend valid, not acknowledged
    sim.validator_power_cut()
    assert validator.start() is PowerUp.BILL_IN_STACKER


def test_id003_dropped_corrupted_and_noise(sim: CashSim, validator: Id003Validator) -> None:
    validator.start()
    validator.set_enabled(frozenset({1000}))
    sim.insert_bill(1000)
    sim.drop_replies("id003", 1)
    sim.corrupt_replies("id003", 1)
    sim.inject("id003", b"\xfc\x06\x13\x61\x00\x00" + bytes(range(250)))
    events = drive(validator, 6)
    assert {e for e in events if isinstance(e, Escrow)} == {Escrow("bill", 1000)}
    assert sim.totals()["bills_in"] == 0


def test_lost_dispense_reply_is_judged_by_the_event_counter(sim: CashSim, port: CcTalkPort) -> None:
    hopper = CcTalkHopper(port, value=100, address=3, status_interval_s=0.005)
    hopper.start()
    sim.drop_replies("cctalk", 1, only=Header.DISPENSE)
    result = hopper.dispense(3)
    assert result.paid == 3
    assert sim.hoppers[3].paid_total == 3  # paid once, not re-issued


def test_dispense_that_never_arrived_is_not_assumed_paid(sim: CashSim, port: CcTalkPort) -> None:
    hopper = CcTalkHopper(port, value=100, address=3, status_interval_s=0.005)
    hopper.start()
    sim.hoppers[3].enabled = False  # the hopper refuses: NAK
    sim.hoppers[3].serial = b"\x99\x99\x99"
    assert hopper.dispense(2).paid == 0
    assert sim.hoppers[3].paid_total == 0


def test_validator_comes_back_after_a_jam_clears(sim: CashSim, validator: Id003Validator) -> None:
    from drivers.coin.interfaces import DeviceReady

    validator.start()
    validator.set_enabled(frozenset({1000}))
    sim.jam()
    assert Fault("bill", "acceptor jam", True) in drive(validator, 2)
    sim.jam(False)
    assert DeviceReady("bill") in drive(validator, 2)
