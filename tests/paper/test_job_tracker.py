"""JobTracker: when a job is over and which sheets of the certificate came out."""

from __future__ import annotations

from drivers.printer.a4 import JobTracker
from drivers.printer.ipp_core import JobState
from drivers.printer.ipp_ops import JobStatus
from drivers.printer.states import PrinterCondition, PrinterState

READY = PrinterCondition(PrinterState.PRINTING)
JAM = PrinterCondition(PrinterState.JAM, reasons=("media-jam-warning",))


def job(state: JobState, impressions: int) -> JobStatus:
    return JobStatus(1, state, (), impressions)


def test_completed_job_printed_every_sheet() -> None:
    t = JobTracker("C-1", 1, sheets=3)
    assert t.observe(job(JobState.PROCESSING, 2), READY, 0.0) is None
    assert t.sheets_done == 1
    out = t.observe(job(JobState.COMPLETED, 6), READY, 1.0)
    assert out is not None and out.completed and out.printed_sheets == (1, 2, 3)
    assert out.missing_sheets == ()


def test_aborted_job_reports_whole_sheets_done_and_fault() -> None:
    t = JobTracker("C-2", 1, sheets=3)
    t.observe(job(JobState.PROCESSING, 3), READY, 0.0)  # front of sheet 2 only
    out = t.observe(job(JobState.ABORTED, 3), PrinterCondition(
        PrinterState.PAPER_OUT, reasons=("media-empty-report",)), 1.0)
    assert out is not None and not out.completed
    assert out.state is PrinterState.PAPER_OUT
    assert out.printed_sheets == (1,) and out.missing_sheets == (2, 3)


def test_stopped_job_ends_tracking_after_grace() -> None:
    t = JobTracker("C-3", 1, sheets=2, fault_grace=2.0)
    assert t.observe(job(JobState.PROCESSING, 2), JAM, 10.0) is None
    assert t.observe(job(JobState.PROCESSING_STOPPED, 2), JAM, 11.0) is None
    out = t.observe(job(JobState.PROCESSING_STOPPED, 2), JAM, 12.5)
    assert out is not None and out.state is PrinterState.JAM and out.sheets_done == 1


def test_fault_that_clears_does_not_end_the_job() -> None:
    t = JobTracker("C-4", 1, sheets=2, fault_grace=2.0)
    t.observe(job(JobState.PROCESSING, 1), JAM, 0.0)
    assert t.observe(job(JobState.PROCESSING, 2), READY, 1.0) is None
    assert t.observe(job(JobState.PROCESSING, 3), JAM, 2.5) is None  # grace starts again


def test_cancelled_job_while_printer_fine_is_an_error() -> None:
    t = JobTracker("C-5", 1, sheets=1)
    out = t.observe(job(JobState.CANCELED, 0), PrinterCondition(PrinterState.READY), 0.0)
    assert out is not None and out.state is PrinterState.ERROR and out.sheets_done == 0
