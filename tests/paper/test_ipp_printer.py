"""The A4 driver against a real ippeveprinter (the simulator): jobs land, faults report the
sheets that came out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader

from documents.model import CertificateType
from documents.paper_cli import render_sample
from drivers.printer.a4 import IppA4Printer, PrintRefused, open_a4_printer
from drivers.printer.states import PrinterState
from sim.printer.ipp_sim import IppPrinterSim

pytestmark = pytest.mark.needs_root


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IppPrinterSim]:
    with IppPrinterSim(tmp_path_factory.mktemp("a4"), side_seconds=0.05) as printer:
        yield printer


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return render_sample(CertificateType.JUMINHYO)  # 2 sheets, 4 PDF pages


@pytest.fixture
def printer(sim: IppPrinterSim) -> Iterator[IppA4Printer]:
    p = IppA4Printer(sim.uri, poll_interval=0.05, fault_grace=1.0)
    yield p
    p.close()


def test_job_lands_in_the_output_dir(sim: IppPrinterSim, printer: IppA4Printer,
                                     pdf: bytes) -> None:
    progress: list[int] = []
    out = printer.print_certificate(pdf, "999001-2026-000101", 2, timeout=60,
                                    on_progress=progress.append)
    assert out.completed and out.printed_sheets == (1, 2) and out.state is PrinterState.READY
    assert progress[-1] == 2
    landed = [p for p in sim.printed_dir.iterdir() if "999001-2026-000101" in p.name]
    assert len(landed) == 1 and landed[0].read_bytes() == pdf
    assert sim.jobs()[-1]["sides"] == "two-sided-long-edge"


def test_paper_out_mid_job_reports_sheets_done(sim: IppPrinterSim, printer: IppA4Printer,
                                               pdf: bytes) -> None:
    sim.set_fault("paper_out", after_sheets=1)
    out = printer.print_certificate(pdf, "999001-2026-000201", 2, timeout=60)
    assert not out.completed and out.state is PrinterState.PAPER_OUT
    assert out.certificate_number == "999001-2026-000201"
    assert out.printed_sheets == (1,) and out.missing_sheets == (2,)
    assert printer.condition().state is PrinterState.PAPER_OUT
    with pytest.raises(PrintRefused) as refused:  # no new job while out of paper
        printer.print_certificate(pdf, "999001-2026-000202", 2, timeout=10)
    assert refused.value.condition.state is PrinterState.PAPER_OUT
    sim.service()  # the clerk refills
    assert printer.condition().state is PrinterState.READY


def test_jam_with_create_job_and_empty_tray(sim: IppPrinterSim, pdf: bytes) -> None:
    printer = open_a4_printer({"uri": sim.uri, "create_job": True})
    assert isinstance(printer, IppA4Printer)
    printer.poll_interval = 0.05
    sim.set_fault("jam", after_sheets=0)
    out = printer.print_certificate(pdf, "999001-2026-000301", 2, timeout=60)
    assert out.state is PrinterState.JAM and out.sheets_done == 0
    sim.service()
    out = printer.print_certificate(pdf, "999001-2026-000302", 2, timeout=60)
    assert out.completed
    assert len(PdfReader(next(sim.printed_dir.glob("*000302*"))).pages) == 4
    sim.set_tray(0)
    assert printer.condition().state is PrinterState.PAPER_OUT
    sim.service()
    printer.close()


def test_unreachable_printer_is_offline(tmp_path: Path) -> None:
    printer = IppA4Printer("ipp://127.0.0.1:9/ipp/print")
    assert printer.condition().state is PrinterState.OFFLINE
    with pytest.raises(PrintRefused):
        printer.print_certificate(b"%PDF", "X", 1)
    with pytest.raises(ValueError):
        open_a4_printer({})


def test_jobs_tell_a_restarted_host_what_came_out(sim: IppPrinterSim, printer: IppA4Printer,
                                                  pdf: bytes) -> None:
    """Get-Jobs: the job of a copy printed before the host died is still known, completed,
    by its name; one submitted just before is known too (finished or not)."""
    done = printer.print_certificate(pdf, "999001-2026-000301", 2, timeout=60)
    assert done.completed
    in_flight = printer.submit(pdf, "kofu 999001-2026-000302")
    jobs = {j.name: j for j in printer.jobs()}
    finished = jobs["kofu 999001-2026-000301"]
    assert finished.job_id == done.job_id and finished.state.name == "COMPLETED"
    assert jobs["kofu 999001-2026-000302"].job_id == in_flight
