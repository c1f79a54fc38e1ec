"""The clerk port against the real cash desk and journal on the simulated cash devices (ptys,
real ccTalk and ID-003 drivers): status, refills, collections (and a host killed between the
clerk's confirm and the journal write, or right after it), the daily report on the ESC/POS
sink and as `kofu cash report --day` JSON."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops

from drivers.printer.receipt_layout import RefundVoucher, report_image
from host import cash_cli, i18n
from host.kiosk.clerk_port import ClerkDesk, report_slip
from host.kiosk.config import PrinterConfig, ReceiptConfig
from host.kiosk.printer_port import KioskPrinters
from host.payment.config import CashConfig, HopperConfig
from host.payment.desk import CashDesk
from host.payment.devices import open_devices
from host.payment.journal import Journal
from host.payment.report import (
    build_day_report,
    build_report,
    cash_box,
    format_report,
    tokyo_today,
)
from host.session import events as E
from host.session.actions import Record
from host.session.hours import TOKYO
from host.session.ports import ClerkError
from sim.cash.server import CashSim
from sim.printer.escpos_sink import EscposSink

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


@pytest.fixture
def sim() -> Iterator[CashSim]:
    with CashSim() as s:
        yield s


@pytest.fixture
def desk(sim: CashSim, tmp_path: Path) -> Iterator[CashDesk]:
    cfg = CashConfig(
        hoppers=(HopperConfig(3, 100, 50), HopperConfig(4, 500, 20)),
        cctalk_port=sim.cctalk_path,
        id003_port=sim.id003_path,
        poll_interval_s=0.01,
        hopper_poll_s=0.005,
        session_timeout_s=2.0,
        hopper_capacity=300,
        hopper_low=30,
    )
    journal = Journal(tmp_path / "cash.db")
    d = CashDesk(journal, open_devices(cfg), cfg)
    d.start()
    yield d
    d.devices.close()
    journal.close()


@pytest.fixture
def clerk(desk: CashDesk) -> Iterator[ClerkDesk]:
    c = ClerkDesk(desk, None, {"center": False, "coprocessor": True})
    yield c
    c.close()


def pay(desk: CashDesk, sim: CashSim, fee: int, *, coins: tuple[int, ...] = (),
        bill: int = 0) -> None:  # fmt: skip
    if coins:
        sim.queue_coins(*coins)
    if bill:
        sim.insert_bill(bill)
    payment = desk.begin(fee)
    assert payment.collect()
    payment.capture_fee()
    payment.give_change()


def test_status_tells_every_device_hoppers_and_cash_box(
    clerk: ClerkDesk, desk: CashDesk, sim: CashSim
) -> None:
    pay(desk, sim, 300, coins=(500,))  # two 100-yen coins of change
    pay(desk, sim, 200, bill=1000)  # 500 + 3 x 100 back
    status = clerk.read_status()
    devices = {d["device"]: d for d in status["devices"]}
    assert devices["coin_acceptor"]["ok"] and devices["bill_validator"]["ok"]
    assert devices["change"]["ok"]
    assert devices["center"] == {"device": "center", "ok": False, "reason": "unreachable"}
    assert devices["coprocessor"]["ok"] and devices["card_reader"]["ok"]
    hoppers = {h["name"]: h for h in status["hoppers"]}
    assert hoppers["hopper3"]["coins"] == 50 - 5 and hoppers["hopper3"]["level"] == "ok"
    assert hoppers["hopper4"]["coins"] == 19 and hoppers["hopper4"]["level"] == "low"
    assert status["cashbox"] == {"coins": {"500": 1}, "total": 500}
    assert status["stacker"] == {"bills": {"1000": 1}, "total": 1000}
    assert status["collect_through"] == desk.journal.last_seq()
    json.dumps(status)  # the screen gets it as JSON


def test_a_dead_device_shows_with_its_reason(clerk: ClerkDesk, desk: CashDesk) -> None:
    validator = desk.devices.validator
    assert validator is not None
    desk.out_of_service.add(validator.name)
    devices = {d["device"]: d for d in clerk.read_status()["devices"]}
    assert devices["bill_validator"] == {
        "device": "bill_validator", "ok": False, "reason": "out_of_service"
    }  # fmt: skip


def test_refill_is_journaled_and_the_inventory_grows(clerk: ClerkDesk, desk: CashDesk) -> None:
    out = clerk.do_refill("hopper4", 40)
    assert out == {"hopper": "hopper4", "coins": 40, "yen": 20000}
    (entry,) = [e for e in desk.journal.entries() if e.kind == "refill"]
    assert (entry.device, entry.amount, entry.detail["coins"]) == ("hopper4", 20000, 40)
    hopper = next(h for h in clerk.read_status()["hoppers"] if h["name"] == "hopper4")
    assert hopper["coins"] == 60 and hopper["level"] == "ok"
    # a fresh desk on the same journal (a restart) counts the refill too
    again = CashDesk(Journal(desk.journal.path), desk.devices, desk.config)
    assert again.inventory["hopper4"] == 60
    again.journal.close()


@pytest.mark.parametrize(
    ("hopper", "coins", "key"),
    [
        ("hopper3", 0, "refill_count"),
        ("hopper3", -3, "refill_count"),
        ("hopper3", 251, "refill_over_capacity"),  # 50 + 251 > 300
        ("hopper7", 5, "refill_hopper"),
    ],
)
def test_bad_refills_are_refused_with_a_key_and_journal_nothing(
    clerk: ClerkDesk, desk: CashDesk, hopper: str, coins: int, key: str
) -> None:
    before = desk.journal.last_seq()
    with pytest.raises(ClerkError) as err:
        clerk.do_refill(hopper, coins)
    assert err.value.key == key
    assert desk.journal.last_seq() == before and desk.inventory["hopper3"] == 50


def test_collection_is_journaled_once_and_the_expected_totals_restart(
    clerk: ClerkDesk, desk: CashDesk, sim: CashSim
) -> None:
    pay(desk, sim, 300, coins=(100, 100, 100))
    pay(desk, sim, 200, bill=1000)
    status = clerk.read_status()
    assert status["cashbox"]["total"] + status["stacker"]["total"] == 1300
    through = status["collect_through"]
    assert clerk.do_collect(through) == {"yen": 1300, "coins_yen": 300, "bills_yen": 1000}
    (entry,) = [e for e in desk.journal.entries() if e.kind == "collection"]
    assert entry.amount == 1300 and entry.detail["coins"] == {"100": 3}
    assert entry.detail["bills"] == {"1000": 1} and entry.detail["through"] == through
    after = clerk.read_status()
    assert after["cashbox"]["total"] == 0 and after["stacker"]["total"] == 0
    folded = build_report(desk.journal)  # `kofu cash report` counts it too
    assert (folded.collections, folded.collected, folded.in_cash_box) == (1, 1300, 0)
    assert "collected             1300 yen (1 times)" in format_report(folded)
    for bad, key in ((through, "collect_already_done"), (through + 99, "collect_changed")):
        with pytest.raises(ClerkError) as err:
            clerk.do_collect(bad)
        assert err.value.key == key
    with pytest.raises(ClerkError) as err:
        clerk.do_collect(desk.journal.last_seq())
    assert err.value.key == "nothing_to_collect"
    # money after the collection is the next collection's
    pay(desk, sim, 100, coins=(100,))
    assert clerk.read_status()["cashbox"] == {"coins": {"100": 1}, "total": 100}


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_host_killed_around_the_collection_write_neither_loses_nor_doubles_it(
    desk: CashDesk, sim: CashSim, when: str
) -> None:
    pay(desk, sim, 300, coins=(500,))
    through = desk.journal.last_seq()
    done = subprocess.run(
        [sys.executable, str(HERE / "clerk_crash_host.py"), str(desk.journal.path),
         str(through), when],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == -9, done.stdout + done.stderr
    journal = Journal(desk.journal.path)  # after the restart
    try:
        collections = [e for e in journal.entries() if e.kind == "collection"]
        restarted = ClerkDesk(desk, None, {}, journal=journal)
        if when == "before":
            # nothing was written: the screen shows the same money, the clerk confirms again
            assert collections == [] and cash_box(journal).total == 500
            assert restarted.do_collect(through)["yen"] == 500
        else:
            # written, the screen never moved: confirming again is refused, not counted twice
            assert [e.amount for e in collections] == [500] and cash_box(journal).total == 0
            with pytest.raises(ClerkError, match="collect_already_done"):
                restarted.do_collect(through)
        assert [e.amount for e in journal.entries() if e.kind == "collection"] == [500]
    finally:
        journal.close()


def issued_record(fee: int, kind: str = "juminhyo", copies: int = 1) -> Record:
    person = {"name": "山田太郎", "address": "桜ヶ丘市1-2-3"}
    view = {"document": {"issuer": {"name": "桜ヶ丘市", "code": "999999"}, "persons": [person]}}
    doc = E.IssuedDocument("N-000123", 1, "Q-1", json.dumps(view, ensure_ascii=False).encode())
    return Record(
        "issued",
        {"documents": 1, "fee": fee, "kind": kind, "copies": copies},
        documents=(doc,),
    )


def a_day(clerk: ClerkDesk, desk: CashDesk, sim: CashSim) -> None:
    for rec in (
        Record("session_start", {"session": "s1"}),
        issued_record(300),
        Record("printed", {"documents": 1}),
        Record("session_start", {"session": "s2"}),
        issued_record(400, "inkan", 2),
        Record("print_failed", {"reason": "media-empty", "documents": 1}),
        Record("reprinted", {"documents": 1}),
        Record("session_start", {"session": "s3"}),
        Record("cancelled", {"state": "payment"}),
        Record("session_start", {"session": "s4"}),
        Record("timeout", {"state": "pin"}),
        Record("device_fault", {"device": "paper", "state": "idle"}),
    ):
        clerk.do_record(rec)
    pay(desk, sim, 300, coins=(500,))
    payment = desk.begin(300)  # cancelled with a coin in: refunded from the hopper
    sim.queue_coins(100)
    payment.collect(timeout_s=0.3)
    payment.cancel()
    clerk.do_refill("hopper3", 10)
    clerk.do_collect(desk.journal.last_seq())


def test_daily_report_counts_the_day_without_personal_data(
    clerk: ClerkDesk, desk: CashDesk, sim: CashSim
) -> None:
    a_day(clerk, desk, sim)
    report = clerk.build_report("")
    assert report["day"] == tokyo_today().isoformat()
    assert report["sessions"] == {
        "started": 4, "completed": 1, "cancelled": 1, "timed_out": 1, "print_failed": 1
    }  # fmt: skip
    assert report["reprints"] == 1
    assert report["certificates"] == {"juminhyo": 1, "inkan": 2}
    assert report["fees_by_municipality"] == {"桜ヶ丘市": 700} and report["fees_yen"] == 700
    assert report["cash_fees_captured_yen"] == 300
    assert report["refunds"] == {"count": 1, "yen": 100}
    assert report["refills"] == {"hopper3": {"coins": 10, "yen": 1000}}
    assert report["collected_yen"] == 600 and len(report["collections"]) == 1
    assert report["device_faults"] == {"paper": 1}
    # no names, addresses or certificate content in the journal, only codes and counts
    raw = Path(desk.journal.path).read_bytes() + Path(f"{desk.journal.path}-wal").read_bytes()
    for personal in ("山田太郎", "1-2-3"):
        assert personal.encode() not in raw
    # another day is empty
    other = clerk.build_report("2020-01-01")
    assert other["sessions"]["started"] == 0 and other["collections"] == []
    with pytest.raises(ClerkError, match="report_day"):
        clerk.build_report("yesterday")


def test_cli_prints_the_same_figures_as_json(
    clerk: ClerkDesk, desk: CashDesk, sim: CashSim, capsys: pytest.CaptureFixture[str]
) -> None:
    a_day(clerk, desk, sim)
    day = tokyo_today().isoformat()
    assert cash_cli.main(["report", "--journal", str(desk.journal.path), "--day", day]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(json.dumps(clerk.build_report(day)))
    bad = ["report", "--journal", str(desk.journal.path), "--day", "2026-13-01"]
    assert cash_cli.main(bad) == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[EscposSink]:
    with EscposSink(tmp_path / "receipts", port=0) as s:
        yield s


def test_daily_report_on_the_receipt_printer(
    desk: CashDesk, sim: CashSim, sink: EscposSink
) -> None:
    printers = KioskPrinters(
        PrinterConfig("sim", "ipp://127.0.0.1:9/ipp/print"),
        ReceiptConfig("sim", {"connection": "network", "host": "127.0.0.1", "port": sink.port}),
    )
    clerk = ClerkDesk(desk, printers, {}, kiosk_id="K-7")
    try:
        a_day(clerk, desk, sim)
        asyncio.run(clerk.print_report(""))
        deadline = time.monotonic() + 10
        while not sink.slips() and time.monotonic() < deadline:
            time.sleep(0.02)
        (slip,) = sink.slips()
        expected = report_image(report_slip(clerk.build_report(""), "K-7"))
        top = slip.crop((0, 0, *expected.size)).convert("L")
        assert ImageChops.difference(expected.convert("L"), top).getbbox() is None
        sink.set_online(False)
        with pytest.raises(ClerkError, match="report_print_failed"):
            asyncio.run(clerk.print_report(""))
    finally:
        clerk.close()
        printers.close()


def test_every_text_the_clerk_screens_and_slip_use_is_in_both_catalogs() -> None:
    src = (ROOT / "host" / "kiosk" / "clerk_port.py").read_text(encoding="utf-8")
    keys = {f"error.{k}" for k in re.findall(r'ClerkError\("([a-z_]+)"\)', src)}
    keys |= {f"report.{k}" for k in re.findall(r't\(\s*"report\.([a-z_]+)"', src)}
    reasons = set(re.findall(r'"(not_configured|not_started|out_of_service|no_change|'
                             r'unreachable|offline|paper_out|paper_low)"', src))  # fmt: skip
    from drivers.printer.receipt import ReceiptStatus
    from drivers.printer.states import PrinterState

    reasons |= {s.value for s in PrinterState} | {s.value for s in ReceiptStatus}
    keys |= {f"clerk.reason_{r}" for r in reasons}
    keys |= {f"clerk.level_{x}" for x in ("ok", "low", "empty")}
    keys |= {f"report.{k}" for k in ("started", "completed", "cancelled", "timed_out")}
    assert len(keys) > 40
    for lang in ("ja", "en"):
        assert sorted(keys - set(i18n.load(lang))) == []


def test_report_slip_has_no_text_of_its_own() -> None:
    report = build_day_report(_EmptyJournal(), tokyo_today())  # type: ignore[arg-type]
    slip = report_slip(report, "K-1", lang="en")
    assert slip.title == "Daily report" and ("None", "-") in slip.rows
    with contextlib.redirect_stdout(io.StringIO()):
        assert isinstance(report_image(slip), Image.Image)


class _EmptyJournal:
    def entries(self) -> Iterator[Any]:
        return iter(())


def test_the_executor_turns_port_answers_and_failures_into_events(
    clerk: ClerkDesk, desk: CashDesk
) -> None:
    from host.session import actions as A
    from host.session.runner import PortExecutor

    def run(action: A.Action) -> list[E.Event]:
        return asyncio.run(PortExecutor._clerk(clerk, action))

    (read,) = run(A.ReadClerkStatus())
    assert isinstance(read, E.ClerkStatusRead) and read.status["hoppers"]
    assert run(A.RefillHopper("hopper3", 0)) == [E.ClerkDone("refill", False, "refill_count")]
    (done,) = run(A.RefillHopper("hopper3", 5))
    assert done.ok and done.data["yen"] == 500  # type: ignore[attr-defined]
    clerk.journal.close()  # the journal is gone: a clear failure, not a silent hang
    assert run(A.CollectCash(1)) == [E.ClerkDone("collect", False, "clerk_failed")]
    assert run(A.ReadClerkStatus()) == [E.ClerkDone("status", False, "clerk_failed")]
    clerk.journal = Journal(desk.journal.path)  # so the fixture's close() has one to close


def test_hopper_capacity_and_low_come_from_the_cash_table() -> None:
    from host.payment.config import ConfigError

    cfg = CashConfig.from_dict({"hopper_capacity": 500, "hopper_low": 40})
    assert (cfg.hopper_capacity, cfg.hopper_low) == (500, 40)
    assert CashConfig.from_dict({}).hopper_capacity == 2000
    for bad in ({"hopper_capacity": 0}, {"hopper_low": -1}, {"hopper_capacity": "lots"}):
        with pytest.raises(ConfigError):
            CashConfig.from_dict(bad)


def test_slips_show_the_kiosks_clock_not_the_machines(sink: EscposSink) -> None:
    """A kiosk whose clock was set (a sim started at night, a test) prints that time."""
    at = datetime(2026, 11, 25, 10, 0, tzinfo=TOKYO)
    printers = KioskPrinters(
        PrinterConfig("sim", "ipp://127.0.0.1:9/ipp/print"),
        ReceiptConfig("sim", {"connection": "network", "host": "127.0.0.1", "port": sink.port}),
        clock=lambda: at,
    )
    sent: list[RefundVoucher] = []
    real = printers.receipt.print_voucher
    printers.receipt.print_voucher = lambda v: (sent.append(v), real(v))[1]  # type: ignore[method-assign]
    try:
        asyncio.run(printers.print_voucher(300))
    finally:
        printers.close()
    (voucher,) = sent
    assert (voucher.issued_at, voucher.amount) == ("2026-11-25 10:00", 300)
    deadline = time.monotonic() + 10
    while not sink.slips() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(sink.slips()) == 1  # and it reached the printer


def test_refill_and_collection_entries_name_the_signed_in_clerk(
    clerk: ClerkDesk, desk: CashDesk, sim: CashSim
) -> None:
    from host.session import actions as A
    from host.session.runner import PortExecutor

    clerk.do_refill("hopper4", 10, clerk="c01")
    pay(desk, sim, 300, coins=(100, 100, 100))
    clerk.do_collect(clerk.read_status()["collect_through"], clerk="c01")
    (done,) = asyncio.run(PortExecutor._clerk(clerk, A.RefillHopper("hopper3", 5, "night-2")))
    assert isinstance(done, E.ClerkDone) and done.ok
    entries = list(desk.journal.entries())
    assert [e.detail["clerk"] for e in entries if e.kind == "refill"] == ["c01", "night-2"]
    (collection,) = [e for e in entries if e.kind == "collection"]
    assert collection.detail["clerk"] == "c01" and collection.amount == 300
