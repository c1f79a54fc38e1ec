"""Clerk mode in the session machine: reachable only at rest (or after a print failure),
status, refill, collection and report requests go to the clerk port and the screen moves on
only when the port says the journal has it; leaving returns to idle or out of service."""

from __future__ import annotations

from typing import Any

import pytest

from host.session import actions as A
from host.session import events as E
from host.session.demo import machine_at
from host.session.machine import SessionMachine
from host.session.pin import ClerkPin
from host.session.states import IN_SESSION, LEFT_BEHIND, State

STATUS: dict[str, Any] = {
    "devices": [{"device": "printer", "ok": True, "reason": ""}],
    "hoppers": [
        {"name": "hopper3", "value": 100, "coins": 40, "capacity": 100, "level": "ok"},
    ],
    "cashbox": {"coins": {"500": 1}, "total": 500},
    "stacker": {"bills": {}, "total": 0},
    "collect_through": 17,
}


def of(actions: list[A.Action], kind: type[A.Action]) -> list[Any]:
    return [a for a in actions if isinstance(a, kind)]


def clerk(state: State = State.CLERK) -> SessionMachine:
    m, _ = machine_at(state)
    m.handle(E.ClerkStatusRead(STATUS))
    return m


def test_login_reads_the_status_and_shows_it() -> None:
    m, _ = machine_at(State.CLERK_CHECK)
    actions = m.handle(E.ClerkPinChecked(True))
    assert m.state is State.CLERK
    assert of(actions, A.ReadClerkStatus) == [A.ReadClerkStatus()]
    m.handle(E.ClerkStatusRead(STATUS))
    view = m.view()
    assert view["clerk_status"]["hoppers"][0]["coins"] == 40
    assert view["reprint_numbers"] == []


def test_wrong_clerk_pin_reads_nothing() -> None:
    m, _ = machine_at(State.CLERK_CHECK)
    actions = m.handle(E.ClerkPinChecked(False))
    assert m.state is State.CLERK_PIN and not of(actions, A.ReadClerkStatus)


@pytest.mark.parametrize("state", sorted(IN_SESSION | LEFT_BEHIND), ids=lambda s: s.value)
def test_clerk_mode_is_unreachable_while_a_session_holds_data_or_money(state: State) -> None:
    m, _ = machine_at(state)
    assert m.handle(E.ClerkRequested()) == []
    assert m.state is state


def test_clerk_mode_from_out_of_service_and_back_to_it() -> None:
    m, _ = machine_at(State.OUT_OF_SERVICE)
    m.handle(E.ClerkRequested())
    m.handle(E.ClerkPinEntered(ClerkPin(b"999999")))
    m.handle(E.ClerkPinChecked(True))
    assert m.state is State.CLERK
    m.handle(E.ClerkExit())
    assert m.state is State.OUT_OF_SERVICE  # the printer is still faulty
    m.handle(E.DeviceHealth(E.Device.PRINTER, True))
    assert m.state is State.IDLE


def test_a_fault_cleared_during_clerk_mode_leaves_to_idle() -> None:
    m, _ = machine_at(State.OUT_OF_SERVICE)
    for ev in (E.ClerkRequested(), E.ClerkPinEntered(ClerkPin(b"111111")), E.ClerkPinChecked(True)):
        m.handle(ev)
    m.handle(E.DeviceHealth(E.Device.PRINTER, True))
    assert m.state is State.CLERK and m.view()["faults"] == []
    m.handle(E.Timeout(m.seq))
    assert m.state is State.IDLE
    assert m.view().get("clerk_status") is None and m.clerk.status == {}


def test_refill_goes_to_the_port_and_moves_on_only_when_journaled() -> None:
    m = clerk()
    m.handle(E.ClerkMenu("refill"))
    assert m.state is State.CLERK_REFILL
    actions = m.handle(E.ClerkRefill("hopper3", 50))
    assert of(actions, A.RefillHopper) == [A.RefillHopper("hopper3", 50)]
    assert m.state is State.CLERK_REFILL and m.view()["clerk_busy"] == "refill"
    # a second tap while the first is on its way is refused, not sent twice
    assert not of(m.handle(E.ClerkRefill("hopper3", 50)), A.RefillHopper)
    assert m.view()["input_error"] == "clerk_busy"
    actions = m.handle(E.ClerkDone("refill", True, data={"yen": 5000}))
    assert m.state is State.CLERK
    assert m.view()["clerk_done"] == "refill_done" and m.view()["clerk_done_yen"] == 5000
    assert of(actions, A.ReadClerkStatus)  # the inventory shown is read again


@pytest.mark.parametrize(
    ("hopper", "coins", "error"),
    [
        ("hopper3", 0, "refill_count"),
        ("hopper3", -5, "refill_count"),
        ("hopper3", 61, "refill_over_capacity"),  # 40 + 61 > 100
        ("hopper9", 5, "refill_hopper"),
    ],
)
def test_bad_refill_counts_get_a_message_and_nothing_is_sent(
    hopper: str, coins: int, error: str
) -> None:
    m = clerk(State.CLERK_REFILL)
    actions = m.handle(E.ClerkRefill(hopper, coins))
    assert not of(actions, A.RefillHopper)
    assert m.state is State.CLERK_REFILL and m.view()["input_error"] == error


def test_a_refill_the_port_refuses_stays_on_the_screen_with_its_message() -> None:
    m = clerk(State.CLERK_REFILL)
    m.handle(E.ClerkRefill("hopper3", 10))
    m.handle(E.ClerkDone("refill", False, "refill_over_capacity"))
    assert m.state is State.CLERK_REFILL
    assert m.view()["input_error"] == "refill_over_capacity" and m.view()["clerk_busy"] == ""


def test_collection_confirms_what_the_screen_showed() -> None:
    m = clerk(State.CLERK_COLLECT)
    m.handle(E.ClerkStatusRead(STATUS))
    assert not of(m.handle(E.ClerkCollect(16)), A.CollectCash)  # older figures
    assert m.view()["input_error"] == "collect_changed"
    actions = m.handle(E.ClerkCollect(17))
    assert of(actions, A.CollectCash) == [A.CollectCash(17)]
    assert m.state is State.CLERK_COLLECT
    m.handle(E.ClerkDone("collect", True, data={"yen": 500}))
    assert m.state is State.CLERK and m.view()["clerk_done"] == "collect_done"


def test_nothing_to_collect_is_said_not_sent() -> None:
    m = clerk(State.CLERK_COLLECT)
    empty = {**STATUS, "cashbox": {"coins": {}, "total": 0}}
    m.handle(E.ClerkStatusRead(empty))
    assert not of(m.handle(E.ClerkCollect(17)), A.CollectCash)
    assert m.view()["input_error"] == "nothing_to_collect"


def test_report_for_today_then_another_day_then_printed() -> None:
    m = clerk()
    actions = m.handle(E.ClerkMenu("report"))
    assert m.state is State.CLERK_REPORT and of(actions, A.BuildReport) == [A.BuildReport("")]
    m.handle(E.ClerkDone("report", True, data={"day": "2026-11-23", "sessions": {}}))
    assert m.view()["clerk_report"]["day"] == "2026-11-23"
    assert of(m.handle(E.ClerkReportDay("2026-11-22")), A.BuildReport) == [
        A.BuildReport("2026-11-22")
    ]
    m.handle(E.ClerkDone("report", True, data={"day": "2026-11-22"}))
    assert of(m.handle(E.ClerkPrintReport()), A.PrintReport) == [A.PrintReport("2026-11-22")]
    m.handle(E.ClerkDone("print_report", True))
    assert m.view()["clerk_done"] == "report_printed"
    assert not of(m.handle(E.ClerkReportDay("23/11/2026")), A.BuildReport)
    assert m.view()["input_error"] == "report_day"


def test_back_and_unknown_menu_items() -> None:
    m = clerk(State.CLERK_REPORT)
    m.handle(E.Back())
    assert m.state is State.CLERK
    m.handle(E.ClerkMenu("safe"))
    assert m.state is State.CLERK and m.view()["input_error"] == "bad_message"


def test_refreshes_do_not_pile_up_behind_a_slow_status_read() -> None:
    m, _ = machine_at(State.CLERK)  # the login's read is still on its way
    assert not of(m.handle(E.ClerkRefresh()), A.ReadClerkStatus)
    m.handle(E.ClerkDone("status", False, "clerk_failed"))  # that read failed
    assert m.view()["input_error"] == "clerk_failed" and m.state is State.CLERK
    assert of(m.handle(E.ClerkRefresh()), A.ReadClerkStatus)
    m.handle(E.ClerkStatusRead(STATUS))
    assert of(m.handle(E.ClerkRefresh()), A.ReadClerkStatus)


def test_refresh_is_not_activity_so_clerk_mode_still_times_out() -> None:
    m = clerk()
    seq = m.seq
    assert of(m.handle(E.ClerkRefresh()), A.ReadClerkStatus)
    assert m.seq == seq  # the timer was not re-armed
    m.handle(E.Timeout(seq))
    assert m.state is State.IDLE


def test_reprint_from_the_menu_shows_the_numbers_and_finishes_on_any_clerk_screen() -> None:
    m, _ = machine_at(State.PRINT_FAILED)
    for ev in (E.ClerkRequested(), E.ClerkPinEntered(ClerkPin(b"111111")), E.ClerkPinChecked(True)):
        m.handle(ev)
    assert m.view()["reprint_numbers"] == ["DEMO-000001"]
    assert of(m.handle(E.ClerkReprint()), A.Reprint)
    m.handle(E.ClerkMenu("report"))
    actions = m.handle(E.Printed())
    assert m.state is State.CLERK_REPORT and m.pending_reprint == ()
    assert [r.event for r in of(actions, A.Record)] == ["reprinted"]
    m.handle(E.CardRemoved())  # the citizen's card was still on the reader
    m.handle(E.ClerkExit())
    assert m.state is State.IDLE


def test_session_facts_are_records_for_the_daily_report() -> None:
    from host.session.demo import OPEN_TIME, drive, main_path

    m = SessionMachine(OPEN_TIME)
    actions = drive(m, [step for _, step in main_path()])
    records = [(r.event, dict(r.fields)) for r in of(actions, A.Record)]
    assert [e for e, _ in records] == ["session_start", "issued", "printed"]
    issued = records[1][1]
    assert issued == {"documents": 1, "fee": 200, "kind": "juminhyo", "copies": 1}
    m2, _ = machine_at(State.PIN)
    assert [r.event for r in of(m2.handle(E.Cancel()), A.Record)] == ["cancelled"]
    m3, _ = machine_at(State.CERTIFICATE)
    assert [r.event for r in of(m3.handle(E.Timeout(m3.seq)), A.Record)] == ["timeout"]
    m4, _ = machine_at(State.IDLE)
    faults = of(m4.handle(E.DeviceHealth(E.Device.PAPER, False)), A.Record)
    assert [(r.event, r.fields["device"]) for r in faults] == [("device_fault", "paper")]


# --- per-clerk sign-in, its messages and the audit trail ----------------------------------


def signed_in(clerk_id: str = "c01", state: State = State.IDLE) -> SessionMachine:
    m, _ = machine_at(state)
    m.handle(E.ClerkRequested())
    m.handle(E.ClerkPinEntered(ClerkPin(b"246810")))
    m.handle(E.ClerkPinChecked(True, clerk=clerk_id))
    m.handle(E.ClerkStatusRead(STATUS))
    return m


def test_the_clerk_pin_screen_asks_for_6_to_12_digits() -> None:
    m, _ = machine_at(State.CLERK_PIN)
    view = m.view()
    assert (view["pin_min"], view["pin_max"]) == (6, 12)
    m, _ = machine_at(State.PIN)
    assert (m.view()["pin_min"], m.view()["pin_max"]) == (4, 4)  # the card's stays 4


def test_a_wrong_clerk_pin_and_a_lockout_each_say_so() -> None:
    m, _ = machine_at(State.CLERK_CHECK)
    m.handle(E.ClerkPinChecked(False))
    assert m.state is State.CLERK_PIN and m.view()["input_error"] == "clerk_pin_wrong"
    m.handle(E.ClerkPinEntered(ClerkPin(b"246810")))  # a new try clears the message
    assert m.state is State.CLERK_CHECK and m.view()["input_error"] == ""
    actions = m.handle(E.ClerkPinChecked(False, locked=True))
    assert m.state is State.CLERK_PIN and m.view()["input_error"] == "clerk_locked"
    assert not of(actions, A.ReadClerkStatus) and m.clerk.clerk_id == ""


def test_the_signed_in_clerk_is_kept_and_named_in_every_operation() -> None:
    m = signed_in("c01")
    assert m.clerk.clerk_id == "c01"
    m.handle(E.ClerkMenu("refill"))
    actions = m.handle(E.ClerkRefill("hopper3", 10))
    assert of(actions, A.ClerkAudit) == [
        A.ClerkAudit("op", "c01", {"op": "refill", "hopper": "hopper3", "coins": 10})
    ]
    assert of(actions, A.RefillHopper) == [A.RefillHopper("hopper3", 10, clerk="c01")]
    assert actions.index(of(actions, A.ClerkAudit)[0]) < actions.index(
        of(actions, A.RefillHopper)[0]
    )  # audited first, on the same lane
    m.handle(E.ClerkDone("refill", False, "refill_over_capacity"))
    m.handle(E.ClerkMenu("collect"))
    m.handle(E.ClerkStatusRead(STATUS))
    actions = m.handle(E.ClerkCollect(17))
    assert of(actions, A.CollectCash) == [A.CollectCash(17, clerk="c01")]
    assert of(actions, A.ClerkAudit)[0].fields == {"op": "collect", "through": 17}
    m.handle(E.ClerkDone("collect", True, data={"yen": 500}))
    actions = m.handle(E.ClerkMenu("report"))
    assert of(actions, A.ClerkAudit) == [A.ClerkAudit("op", "c01", {"op": "report", "day": ""})]
    m.handle(E.ClerkDone("report", True, data={"day": "2026-11-23"}))
    actions = m.handle(E.ClerkPrintReport())
    assert of(actions, A.ClerkAudit)[0].fields == {"op": "print_report", "day": ""}
    actions = m.handle(E.ClerkDone("print_report", False, "report_print_failed"))
    assert of(actions, A.ClerkAudit) == [
        A.ClerkAudit("op_failed", "c01", {"op": "print_report", "error": "report_print_failed"})
    ]
    actions = m.handle(E.ClerkExit())
    assert of(actions, A.ClerkAudit) == [A.ClerkAudit("signout", "c01", {"reason": "exit"})]
    assert m.clerk.clerk_id == ""  # cleared with the rest of clerk mode


def test_reprint_and_timeout_are_audited_with_the_clerk() -> None:
    m = signed_in("night-2", State.PRINT_FAILED)
    actions = m.handle(E.ClerkReprint())
    assert of(actions, A.ClerkAudit) == [
        A.ClerkAudit("op", "night-2", {"op": "reprint", "documents": 1})
    ]
    actions = m.handle(E.PrintFailed("media-jam"))
    assert of(actions, A.ClerkAudit) == [
        A.ClerkAudit("op_failed", "night-2", {"op": "reprint", "error": "media-jam"})
    ]
    actions = m.handle(E.Timeout(m.seq))
    assert of(actions, A.ClerkAudit) == [A.ClerkAudit("signout", "night-2", {"reason": "timeout"})]
    m, _ = machine_at(State.CLERK_PIN)  # leaving the PIN pad is no sign-out
    assert not of(m.handle(E.ClerkExit()), A.ClerkAudit)


def test_status_refreshes_are_not_audited() -> None:
    m = signed_in()
    actions = m.handle(E.ClerkRefresh())
    assert of(actions, A.ReadClerkStatus) and not of(actions, A.ClerkAudit)
