"""Refund vouchers and receipts from the cash desk on the receipt printer: python-escpos to the
ESC/POS sink, whose PNG (rendered from the byte stream) is compared with the layout and
whose QR code is decoded; every attempt is in the journal, failures wait for the clerk."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image, ImageChops

from drivers.printer.receipt import EscposReceiptPrinter
from drivers.printer.receipt_layout import Receipt, ReceiptLine, receipt_image, voucher_image
from host import cash_cli
from host.payment.desk import CashDesk
from host.payment.report import build_report
from host.payment.slips import SlipError, SlipPrinter
from sim.cash.server import CashSim
from sim.printer.escpos_interp import Paper
from sim.printer.escpos_sink import EscposSink


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[EscposSink]:
    with EscposSink(tmp_path / "receipts", port=0) as s:
        yield s


@pytest.fixture
def slips(desk: CashDesk, sink: EscposSink) -> Iterator[SlipPrinter]:
    printer = EscposReceiptPrinter(
        {"connection": "network", "host": "127.0.0.1", "port": sink.port}
    )
    desk.slips = SlipPrinter(desk.journal, printer, kiosk_id="K-001", municipality="桜川原市")
    yield desk.slips
    printer.close()


def wait_slips(sink: EscposSink, n: int) -> list[Image.Image]:
    deadline = time.monotonic() + 10
    while len(sink.slips()) < n and time.monotonic() < deadline:
        time.sleep(0.02)
    return sink.slips()


def same_pixels(expected: Image.Image, slip: Image.Image) -> bool:
    top = slip.crop((0, 0, *expected.size)).convert("L")
    rest = slip.crop((0, expected.size[1], slip.size[0], slip.size[1])).convert("L")
    blank = rest.getextrema() == (255, 255) if rest.size[1] else True
    return ImageChops.difference(expected.convert("L"), top).getbbox() is None and blank


def kinds(desk: CashDesk, kind: str) -> list[dict[str, object]]:
    return [e.detail for e in desk.journal.entries() if e.kind == kind]


def short_change(desk: CashDesk, sim: CashSim) -> tuple[str, str]:
    """A 1000-yen bill for a 200-yen fee with hoppers that run dry: 300 paid, 500 vouchered."""
    sim.hopper_empty_after(4, 0)
    sim.hopper_empty_after(3, 3)
    sim.insert_bill(1000)
    pay = desk.begin(200, municipality="masuda")
    assert pay.collect()
    pay.capture_fee()
    result = pay.give_change()
    assert (result.paid, result.owed) == (300, 500) and result.voucher is not None
    return pay.tx, result.voucher


def test_a_partial_payout_prints_its_voucher(
    desk: CashDesk, sim: CashSim, sink: EscposSink, slips: SlipPrinter
) -> None:
    _, voucher = short_change(desk, sim)
    (slip,) = wait_slips(sink, 1)
    expected = slips.voucher_slip(voucher)
    assert (expected.amount, expected.reason, expected.kiosk_id) == (500, "釣銭不足", "K-001")
    assert same_pixels(voucher_image(expected), slip)
    codes = zxingcpp.read_barcodes(slip.convert("L"))
    assert [c.text for c in codes] == [f"KOFU-REFUND:{voucher}:500"]
    assert [d["voucher"] for d in kinds(desk, "slip_printed")] == [voucher]
    report = build_report(desk.journal)
    assert report.vouchers[0]["print"] == "printed" and not report.vouchers_to_reprint


def test_the_receipt_after_a_successful_payment(
    desk: CashDesk, sim: CashSim, sink: EscposSink, slips: SlipPrinter
) -> None:
    sim.queue_coins(500)
    pay = desk.begin(400, municipality="masuda")
    assert pay.collect()
    pay.capture_fee()
    assert pay.give_change().paid == 100
    lines = (ReceiptLine("住民票の写し", 2, 200),)
    with pytest.raises(SlipError):
        slips.print_receipt(pay.tx, (ReceiptLine("住民票の写し", 1, 200),))  # not the fee
    assert slips.print_receipt(pay.tx, lines)
    (slip,) = wait_slips(sink, 1)
    expected = slips.receipt_slip(pay.tx, lines)
    assert (expected.paid, expected.change, expected.total) == (500, 100, 400)
    assert expected.transaction_no == pay.tx
    assert same_pixels(receipt_image(expected), slip)
    other = Receipt(**{**expected.__dict__, "change": 0})
    assert not same_pixels(receipt_image(other), slip)
    assert kinds(desk, "slip_printed") == [{"slip": "receipt"}]


def test_paper_out_leaves_the_voucher_for_the_clerk_to_reprint(
    desk: CashDesk, sim: CashSim, sink: EscposSink, slips: SlipPrinter, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sink.set_paper(Paper.OUT)
    tx, voucher = short_change(desk, sim)
    assert desk.journal.balance(tx).balanced  # the money side does not wait on paper
    (failed,) = kinds(desk, "slip_failed")
    assert (failed["voucher"], failed["status"], failed["action"]) == (
        voucher, "paper_out", "clerk reprints"
    )
    assert sink.slips() == []
    journal = str(desk.journal.path)
    assert cash_cli.main(["report", "--journal", journal]) == 1
    assert "PRINT FAILED" in capsys.readouterr().out
    assert cash_cli.main(["report", "--journal", journal, "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["vouchers_to_reprint"] == [voucher]

    sink.set_paper(Paper.OK)  # the clerk refills the paper and reprints
    config = tmp_path / "kiosk.toml"
    config.write_text(
        f'[receipt]\nconnection = "network"\nhost = "127.0.0.1"\nport = {sink.port}\n'
    )
    args = ["reprint", "--config", str(config), "--journal", journal,
            "--kiosk-id", "K-001", "--municipality", "桜川原市"]
    assert cash_cli.main(args) == 0
    assert f"{voucher}  printed" in capsys.readouterr().out
    (slip,) = wait_slips(sink, 1)
    assert same_pixels(voucher_image(slips.voucher_slip(voucher)), slip)
    assert cash_cli.main(["report", "--journal", journal, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["vouchers"][0]["print"] == "printed" and out["vouchers_to_reprint"] == []
    assert cash_cli.main(args) == 0  # nothing left to reprint
    assert "no voucher waits" in capsys.readouterr().out
    assert cash_cli.main([*args, "--voucher", "V-nope"]) == 2
