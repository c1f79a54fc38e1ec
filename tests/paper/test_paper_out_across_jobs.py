"""The simulated printer runs out of paper part-way through a run of jobs (one job per
certificate copy), and the driver's per-copy accounting says which copies came out."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from documents.model import CertificateType
from documents.paper_cli import render_sample
from drivers.printer.a4 import IppA4Printer, PrintRefused
from drivers.printer.copies import CopyTally
from drivers.printer.states import PrinterState
from sim.panel.actions import PanelError, act
from sim.printer.ipp_sim import IppPrinterSim

SHEETS = 2  # the sample 住民票: 4 PDF pages, duplex


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IppPrinterSim]:
    with IppPrinterSim(tmp_path_factory.mktemp("a4"), side_seconds=0.02) as printer:
        yield printer


@pytest.fixture
def printer(sim: IppPrinterSim) -> Iterator[IppA4Printer]:
    p = IppA4Printer(sim.uri, poll_interval=0.05, fault_grace=1.0)
    yield p
    p.close()


def print_run(printer: IppA4Printer, pdf: bytes, numbers: tuple[str, ...]) -> CopyTally:
    """As the kiosk's printer port does: one job per copy, stop at the first that fails."""
    tally = CopyTally(numbers)
    for number in numbers:
        try:
            outcome = printer.print_certificate(pdf, number, SHEETS, timeout=60)
        except PrintRefused:
            break
        tally.record(outcome)
        if not outcome.completed:
            break
    return tally


@pytest.mark.needs_root
def test_paper_out_inside_copy_3_of_3_leaves_copies_1_and_2_printed(
    sim: IppPrinterSim, printer: IppA4Printer
) -> None:
    pdf = render_sample(CertificateType.JUMINHYO)
    # 5 sheets in the tray: copies 1 and 2 (2 sheets each) and the first sheet of copy 3
    sim.set_fault("paper_out", 2 * SHEETS + 1, across_jobs=True)
    tally = print_run(printer, pdf, ("P-1", "P-2", "P-3"))
    assert tally.printed == ("P-1", "P-2") and tally.not_printed == ("P-3",)
    assert tally.sheets_done == 2 * SHEETS + 1
    assert [j["result"] for j in sim.jobs()[-3:]] == ["completed", "completed", "paper_out"]
    landed = sorted(p.name for p in sim.printed_dir.glob("*P-*"))
    assert len(landed) == 2 and "P-3" not in " ".join(landed)
    # the latched fault refuses the clerk's reprint until the printer is serviced
    assert print_run(printer, pdf, ("P-3",)).printed == ()
    assert printer.condition().state is PrinterState.PAPER_OUT
    sim.service()
    assert print_run(printer, pdf, ("P-3",)).printed == ("P-3",)


@pytest.mark.needs_root
def test_a_run_that_fits_the_paper_left_prints_whole_and_keeps_the_count(
    sim: IppPrinterSim, printer: IppA4Printer
) -> None:
    pdf = render_sample(CertificateType.JUMINHYO)
    sim.set_fault("paper_out", 2 * SHEETS, across_jobs=True)
    assert print_run(printer, pdf, ("Q-1", "Q-2")).complete
    # the tray is now empty: the next copy stops before its first sheet
    tally = print_run(printer, pdf, ("Q-3",))
    assert tally.not_printed == ("Q-3",) and tally.sheets_done == 0
    sim.service()


def test_the_panel_takes_whole_sheet_counts_and_says_what_is_wrong() -> None:
    calls: list[tuple[str, int, bool]] = []
    fake = SimpleNamespace(
        a4=SimpleNamespace(
            set_fault=lambda kind, n, across_jobs: calls.append((kind, n, across_jobs))
        )
    )
    act(fake, {"action": "paper_out", "after_sheets": 2, "across_jobs": True})
    act(fake, {"action": "jam"})
    assert calls == [("paper_out", 2, True), ("jam", 0, False)]
    bad_requests = (
        ({"after_sheets": "2"}, "after_sheets"),
        ({"after_sheets": -1}, "after_sheets"),
        ({"across_jobs": "yes"}, "across_jobs"),
    )
    for bad, field in bad_requests:
        with pytest.raises(PanelError, match=field):
            act(fake, {"action": "paper_out", **bad})
    assert len(calls) == 2  # nothing scripted by a bad request
