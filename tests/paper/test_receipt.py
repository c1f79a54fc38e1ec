"""Receipts and refund vouchers through python-escpos to the ESC/POS sink: the PNG the sink
renders from the byte stream is exactly the layout, status comes from DLE EOT."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image, ImageChops

from drivers.printer.receipt import (
    EscposReceiptPrinter,
    ReceiptPrinterError,
    ReceiptStatus,
    decode_status,
)
from drivers.printer.receipt_layout import (
    Receipt,
    ReceiptLine,
    RefundVoucher,
    receipt_image,
    voucher_image,
)
from sim.printer.escpos_interp import EscposInterpreter, Paper
from sim.printer.escpos_sink import EscposSink

RECEIPT = Receipt("桜川原市", "K-001", "T-000123", "2026-11-23 10:15",
                  (ReceiptLine("住民票の写し", 2, 200), ReceiptLine("印鑑登録証明書", 1, 200)),
                  paid=1000, change=400)
VOUCHER = RefundVoucher("桜川原市", "K-001", "V-000045", "2026-11-23 10:20", 300, "印刷失敗")


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[EscposSink]:
    with EscposSink(tmp_path / "receipts", port=0) as s:
        yield s


@pytest.fixture
def printer(sink: EscposSink) -> Iterator[EscposReceiptPrinter]:
    p = EscposReceiptPrinter({"connection": "network", "host": "127.0.0.1", "port": sink.port})
    yield p
    p.close()


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


def test_receipt_png_matches_its_layout(sink: EscposSink, printer: EscposReceiptPrinter) -> None:
    assert RECEIPT.total == 600
    printer.print_receipt(RECEIPT)
    (slip,) = wait_slips(sink, 1)
    assert same_pixels(receipt_image(RECEIPT), slip)
    assert sink.interp.unknown == []
    assert (sink.out_dir / "receipt-0001.png").exists()


def test_voucher_png_carries_a_readable_qr(sink: EscposSink,
                                           printer: EscposReceiptPrinter) -> None:
    printer.print_voucher(VOUCHER)
    (slip,) = wait_slips(sink, 1)
    assert same_pixels(voucher_image(VOUCHER), slip)
    codes = zxingcpp.read_barcodes(slip.convert("L"))
    assert [c.text for c in codes] == ["KOFU-REFUND:V-000045:300"]


def test_different_content_gives_a_different_slip(sink: EscposSink,
                                                  printer: EscposReceiptPrinter) -> None:
    other = Receipt(**{**RECEIPT.__dict__, "change": 500, "paid": 1100})
    printer.print_receipt(other)
    (slip,) = wait_slips(sink, 1)
    assert not same_pixels(receipt_image(RECEIPT), slip)
    assert same_pixels(receipt_image(other), slip)


def test_paper_status_and_paper_out(sink: EscposSink, printer: EscposReceiptPrinter) -> None:
    assert printer.status() is ReceiptStatus.READY
    sink.set_paper(Paper.NEAR_END)
    assert printer.status() is ReceiptStatus.PAPER_LOW
    printer.print_receipt(RECEIPT)  # near end still prints
    assert len(wait_slips(sink, 1)) == 1
    sink.set_paper(Paper.OUT)
    with pytest.raises(ReceiptPrinterError) as err:
        printer.print_receipt(RECEIPT)
    assert err.value.status is ReceiptStatus.PAPER_OUT
    sink.set_online(False)
    assert printer.status() is ReceiptStatus.OFFLINE


def test_unreachable_printer_is_offline() -> None:
    p = EscposReceiptPrinter({"connection": "network", "host": "127.0.0.1", "port": 9,
                              "timeout": 1})
    assert p.status() is ReceiptStatus.OFFLINE
    with pytest.raises(ReceiptPrinterError):
        p.print_voucher(VOUCHER)
    with pytest.raises(ValueError):
        EscposReceiptPrinter({"connection": "parallel"})


def test_serial_connection_over_a_pty(sink: EscposSink) -> None:
    path = sink.start_pty()
    p = EscposReceiptPrinter({"connection": "serial", "device": path, "baudrate": 115200})
    try:
        assert p.status() is ReceiptStatus.READY
        p.print_receipt(RECEIPT)
        (slip,) = wait_slips(sink, 1)
        assert same_pixels(receipt_image(RECEIPT), slip)
    finally:
        p.close()


def test_status_bytes_and_interpreter_edge_cases() -> None:
    assert decode_status(b"\x12", b"\x12") is ReceiptStatus.READY
    assert decode_status(b"\x12", b"\x7e") is ReceiptStatus.PAPER_OUT
    assert decode_status(b"\x1a", b"\x12") is ReceiptStatus.OFFLINE
    assert decode_status(b"", b"") is ReceiptStatus.OFFLINE
    interp = EscposInterpreter()
    # a raster image split across chunks, then a cut
    image = b"\x1dv0\x00\x01\x00\x02\x00" + b"\xff\x00"
    for i in range(len(image)):
        assert interp.feed(image[i : i + 1]) == b""
    interp.feed(b"\x1dV\x00")
    assert len(interp.slips) == 1 and interp.slips[0].getpixel((0, 0)) == 0
    assert interp.feed(b"\x10\x04\x04") == b"\x12"
    interp.feed(b"\x1bZ")
    assert interp.unknown == [b"\x1bZ"]
