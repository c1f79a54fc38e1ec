"""Both printers, on the simulator by default or on a real bench's devices.

A real bench names `[printer] uri = "ipp://..."` and `[receipt] connection = ...`; the
fault scenarios that need a scripted printer run on the simulator only.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from documents.model import CertificateType
from documents.paper_cli import render_sample
from drivers.printer.a4 import IppA4Printer, open_a4_printer
from drivers.printer.receipt import EscposReceiptPrinter, ReceiptStatus
from drivers.printer.receipt_layout import Receipt, ReceiptLine, receipt_image
from drivers.printer.states import PrinterState
from hil_tests.conftest import bench_section
from sim.printer.escpos_sink import EscposSink
from sim.printer.ipp_sim import IppPrinterSim


@pytest.fixture(scope="module")
def a4(bench: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
       ) -> Iterator[tuple[IppA4Printer, IppPrinterSim | None]]:
    section = bench_section(bench, "printer")
    sim = None
    if section.get("backend") == "sim":
        sim = IppPrinterSim(tmp_path_factory.mktemp("hil-a4")).start()
        section["uri"] = sim.uri
    printer = open_a4_printer(section)
    assert isinstance(printer, IppA4Printer)
    printer.poll_interval = 0.1
    yield printer, sim
    printer.close()
    if sim is not None:
        sim.stop()


@pytest.fixture(scope="module")
def receipt(bench: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[tuple[EscposReceiptPrinter, EscposSink | None]]:
    section = bench_section(bench, "receipt")
    sink = None
    if section.get("backend") == "sim":
        sink = EscposSink(Path(tmp_path_factory.mktemp("hil-receipt")), port=0).start()
        section.update(connection="network", host="127.0.0.1", port=sink.port)
    printer = EscposReceiptPrinter(section)
    yield printer, sink
    printer.close()
    if sink is not None:
        sink.stop()


def test_a4_prints_a_duplex_certificate(a4: tuple[IppA4Printer, IppPrinterSim | None]) -> None:
    printer, sim = a4
    assert printer.condition().state.can_print
    out = printer.print_certificate(render_sample(CertificateType.INKAN), "999001-2026-900001", 1,
                                    timeout=120)
    assert out.completed and out.printed_sheets == (1,)
    if sim is not None:
        assert any("900001" in p.name for p in sim.printed_dir.iterdir())


def test_a4_paper_out_reports_sheets_done(a4: tuple[IppA4Printer, IppPrinterSim | None]) -> None:
    printer, sim = a4
    if sim is None:
        pytest.skip("needs the simulator's scripted faults")
    sim.set_fault("paper_out", after_sheets=1)
    out = printer.print_certificate(render_sample(CertificateType.JUMINHYO), "999001-2026-900002",
                                    2, timeout=120)
    assert out.state is PrinterState.PAPER_OUT and out.missing_sheets == (2,)
    sim.service()
    assert printer.condition().state is PrinterState.READY


def test_receipt_prints_and_reports_paper(
        receipt: tuple[EscposReceiptPrinter, EscposSink | None]) -> None:
    printer, sink = receipt
    assert printer.status().can_print
    slip = Receipt("桜川原市", "HIL", "T-HIL-1", "2026-11-23 09:00",
                   (ReceiptLine("所得証明書", 1, 300),), paid=500, change=200)
    printer.print_receipt(slip)
    if sink is None:
        return
    deadline = time.monotonic() + 10
    while not sink.slips() and time.monotonic() < deadline:
        time.sleep(0.05)
    expected = receipt_image(slip)
    assert sink.slips()[0].crop((0, 0, *expected.size)).tobytes() == expected.tobytes()
    sink.set_paper("out")
    assert printer.status() is ReceiptStatus.PAPER_OUT
    sink.set_paper("ok")
