"""Issue 20: money the citizen is owed is in their hand, and the books say when it is not.

The kiosk's cash desk is built the way the kiosk service builds it (`CashUnit` with
`voucher_slips` on the kiosk's `KioskPrinters`), against the cash simulator on real ptys
and the ESC/POS sink: a voucher owed on a short refund comes out of the receipt printer
with its journal number; a receipt printer that cannot print leaves it unprinted, which
`kofu cash report` lists as an open item (exit 1) until `kofu cash reprint` prints it."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image, ImageChops

from drivers.printer.receipt_layout import voucher_image
from host import cash_cli
from host.kiosk.clerk_port import report_slip
from host.kiosk.config import PrinterConfig, ReceiptConfig
from host.kiosk.payment_port import DeskPayment
from host.kiosk.printer_port import KioskPrinters
from host.kiosk.units import CashUnit, voucher_slips
from host.payment.config import CashConfig, HopperConfig
from host.payment.journal import Journal
from host.payment.report import build_day_report, build_report, tokyo_today
from host.session import events as E
from sim.cash.server import CashSim
from sim.printer.escpos_interp import Paper
from sim.printer.escpos_sink import EscposSink


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[EscposSink]:
    with EscposSink(tmp_path / "receipts", port=0) as s:
        yield s


class Kiosk:
    """The cash half of the kiosk service: journal, receipt printer, desk, payment port."""

    def __init__(self, sim: CashSim, sink: EscposSink, journal_path: Path) -> None:
        self.journal = Journal(journal_path)
        self.printers = KioskPrinters(
            PrinterConfig("sim", "ipp://127.0.0.1:9/ipp/print"),
            ReceiptConfig("sim", {"connection": "network", "host": "127.0.0.1",
                                  "port": sink.port}),
            kiosk_id="K-020",
        )  # fmt: skip
        self.port = DeskPayment()
        cfg = CashConfig(
            hoppers=(HopperConfig(3, 100, 50), HopperConfig(4, 500, 20)),
            cctalk_port=sim.cctalk_path,
            id003_port=sim.id003_path,
            poll_interval_s=0.01,
            hopper_poll_s=0.005,
            session_timeout_s=2.0,
        )
        self.unit = CashUnit(cfg, self.journal, self.port, voucher_slips(self.journal,
                                                                         self.printers))

    async def start(self) -> None:
        await self.unit.start()
        assert self.unit.desk is not None
        for hopper in self.unit.desk.devices.hoppers:
            hopper.stall_timeout_s = 0.5  # type: ignore[attr-defined]

    def close(self) -> None:
        asyncio.run(self.unit.stop())
        self.port.close()
        self.printers.close()
        self.journal.close()


@pytest.fixture
def kiosk(sim: CashSim, sink: EscposSink, tmp_path: Path) -> Iterator[Kiosk]:
    k = Kiosk(sim, sink, tmp_path / "cash.db")
    yield k
    k.close()


def short_refund(kiosk: Kiosk, sim: CashSim) -> E.RefundDone:
    """The session's path: 100 yen in, the citizen cancels, the hoppers are empty; then the
    session's IssueVoucher for what the refund could not pay."""
    sim.hopper_empty_after(3, 0)
    sim.hopper_empty_after(4, 0)

    async def session() -> E.RefundDone:
        await kiosk.start()
        await kiosk.port.start(300)
        while not await asyncio.to_thread(sim.insert_coin, 100):
            await asyncio.sleep(0.05)  # the collection has not opened the acceptor yet
        async for ev in kiosk.port.events():
            if isinstance(ev, E.MoneyInserted) and ev.total_yen == 100:
                break
        done = await kiosk.port.refund(100)
        if done.short_yen:
            await kiosk.printers.print_voucher(done.short_yen)  # A.IssueVoucher
        return done

    return asyncio.run(asyncio.wait_for(session(), 20))


def wait_slips(sink: EscposSink, n: int, within_s: float = 10) -> list[Image.Image]:
    deadline = time.monotonic() + within_s
    while len(sink.slips()) < n and time.monotonic() < deadline:
        time.sleep(0.02)
    return sink.slips()


def same_pixels(expected: Image.Image, slip: Image.Image) -> bool:
    top = slip.crop((0, 0, *expected.size)).convert("L")
    return ImageChops.difference(expected.convert("L"), top).getbbox() is None


def vouchers(journal: Journal) -> list[str]:
    return [str(e.detail["voucher"]) for e in journal.entries() if e.kind == "voucher"]


def test_a_short_refund_puts_its_voucher_in_the_citizens_hand(
    kiosk: Kiosk, sim: CashSim, sink: EscposSink, capsys: pytest.CaptureFixture[str]
) -> None:
    done = short_refund(kiosk, sim)
    assert (done.refunded_yen, done.short_yen) == (0, 100)
    (voucher,) = vouchers(kiosk.journal)
    time.sleep(0.3)  # a second slip (the session's own) would have come by now
    (slip,) = wait_slips(sink, 1)  # exactly one: the journal's, not a second numberless one
    assert kiosk.unit.desk is not None and kiosk.unit.desk.slips is not None
    expected = kiosk.unit.desk.slips.voucher_slip(voucher)
    assert (expected.amount, expected.reason, expected.kiosk_id) == (100, "返金不足", "K-020")
    assert same_pixels(voucher_image(expected), slip)
    codes = zxingcpp.read_barcodes(slip.convert("L"))
    assert [c.text for c in codes] == [f"KOFU-REFUND:{voucher}:100"]
    report = build_report(kiosk.journal)
    assert report.balanced and report.unprinted_vouchers == []
    assert cash_cli.main(["report", "--journal", str(kiosk.journal.path)]) == 0
    assert "balanced          yes" in capsys.readouterr().out


def test_an_unprinted_voucher_is_an_open_item_until_the_clerk_reprints_it(
    kiosk: Kiosk, sim: CashSim, sink: EscposSink, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    sink.set_online(False)  # the receipt printer is offline when the voucher is owed
    short_refund(kiosk, sim)
    (voucher,) = vouchers(kiosk.journal)
    assert sink.slips() == []
    (failed,) = [e.detail for e in kiosk.journal.entries() if e.kind == "slip_failed"]
    assert (failed["voucher"], failed["action"]) == (voucher, "clerk reprints")

    journal = str(kiosk.journal.path)
    report = build_report(kiosk.journal)
    assert report.money_balanced and not report.balanced  # the money adds up; the books don't
    assert report.unprinted_vouchers == [
        {"tx": report.vouchers[0]["tx"], "amount": 100, "voucher": voucher, "print": "failed"}
    ]
    assert cash_cli.main(["report", "--journal", journal]) == 1
    out = capsys.readouterr().out
    assert "balanced          NO (1 open items)" in out
    assert f"  {voucher}  100 yen" in out.split("OPEN: vouchers not printed: 1")[1]
    assert cash_cli.main(["report", "--journal", journal, "--json"]) == 1
    printed = json.loads(capsys.readouterr().out)
    assert printed["balanced"] is False and printed["open_items"] == 1
    assert [v["voucher"] for v in printed["unprinted_vouchers"]] == [voucher]

    # The clerk's daily report (screen and slip) shows the same open item.
    day = build_day_report(kiosk.journal, tokyo_today(kiosk.journal.now()))
    assert day["vouchers"]["unprinted"] == [{"voucher": voucher, "amount": 100}]
    rows = report_slip(day, "K-020", lang="en").rows
    assert any(r[0] == "Vouchers NOT PRINTED (reprint)" for r in rows)
    assert any(r[0] == voucher and "100" in r[1] for r in rows)

    sink.set_online(True)
    config = tmp_path / "kiosk.toml"
    config.write_text(
        f'[receipt]\nconnection = "network"\nhost = "127.0.0.1"\nport = {sink.port}\n'
    )
    reprint = ["reprint", "--config", str(config), "--journal", journal, "--kiosk-id", "K-020"]
    assert cash_cli.main(reprint) == 0
    assert f"{voucher}  printed" in capsys.readouterr().out
    (slip,) = wait_slips(sink, 1)
    assert [c.text for c in zxingcpp.read_barcodes(slip.convert("L"))] == [
        f"KOFU-REFUND:{voucher}:100"
    ]
    assert cash_cli.main(["report", "--journal", journal]) == 0
    assert "balanced          yes" in capsys.readouterr().out
    day = build_day_report(kiosk.journal, tokyo_today(kiosk.journal.now()))
    assert day["vouchers"]["unprinted"] == []


def test_a_voucher_never_tried_on_paper_is_open_too(tmp_path: Path) -> None:
    """A voucher journaled but never printed (no receipt printer, or a crash between the
    record and the print) is an open item just like a failed print."""
    journal = Journal(tmp_path / "cash.db")
    try:
        journal.append("tx_open", tx="t", amount=200)
        journal.append("credit", tx="t", amount=500, device="acceptor", counter=1)
        journal.append("fee_captured", tx="t", amount=200)
        journal.append("change_owed", tx="t", amount=300, reason="change")
        journal.append("voucher", tx="t", amount=300, voucher="V-t-300", reason="change")
        journal.append("tx_closed", tx="t")
        report = build_report(journal)
    finally:
        journal.close()
    assert report.money_balanced and not report.balanced
    assert report.vouchers_to_reprint == ["V-t-300"]
    assert cash_cli.main(["report", "--journal", str(tmp_path / "cash.db")]) == 1


def test_the_report_help_names_its_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cash_cli.main(["report", "--help"])
    out = capsys.readouterr().out
    assert "exit status:" in out
    for code in ("0  balanced", "1  open items", "2  no journal"):
        assert code in out


def test_paper_out_is_a_failure_like_offline(
    kiosk: Kiosk, sim: CashSim, sink: EscposSink
) -> None:
    sink.set_paper(Paper.OUT)
    short_refund(kiosk, sim)
    (voucher,) = vouchers(kiosk.journal)
    assert build_report(kiosk.journal).vouchers_to_reprint == [voucher]


def test_kofu_cash_recover_prints_the_vouchers_it_issues(
    sim: CashSim, sink: EscposSink, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Recovery vouchers what an interrupted transaction held and the hoppers cannot pay (50
    yen; they hold 100s and 500s): with a [receipt] table in the config, on paper at once, so
    the report balances without a reprint."""
    config = tmp_path / "kiosk.toml"
    config.write_text(
        f'[cash]\n[cash.cctalk]\nport = "{sim.cctalk_path}"\n'
        f'[cash.id003]\nport = "{sim.id003_path}"\n'
        f'[receipt]\nconnection = "network"\nhost = "127.0.0.1"\nport = {sink.port}\n'
    )
    path = tmp_path / "j.db"
    j = Journal(path)
    j.append("tx_open", tx="t1", amount=300)
    j.append("credit", tx="t1", amount=50, device="coin", counter=1)
    j.close()
    args = ["recover", "--config", str(config), "--journal", str(path), "--kiosk-id", "K-9"]
    assert cash_cli.main(args) == 0
    (slip,) = wait_slips(sink, 1)
    assert [c.text for c in zxingcpp.read_barcodes(slip.convert("L"))] == [
        "KOFU-REFUND:V-t1-50:50"
    ]
    capsys.readouterr()
    assert cash_cli.main(["report", "--journal", str(path)]) == 0
    assert "balanced          yes" in capsys.readouterr().out
