"""Per-copy accounting of a print run (one IPP job per certificate copy), from vectors of
what the printer reports: which copies came out (the center marks them printed) and which
did not (failed: the clerk reprints only those)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from drivers.printer.a4 import JobTracker, PrintOutcome
from drivers.printer.copies import CopyTally, UnknownCopy
from drivers.printer.ipp_core import JobState, PrinterStateCode
from drivers.printer.ipp_ops import JobStatus, PrinterStatus
from drivers.printer.states import PrinterState, condition

VECTORS: list[dict[str, Any]] = json.loads(
    (Path(__file__).with_name("copy_vectors.json")).read_text(encoding="utf-8")
)["vectors"]


def follow(number: str, sheets: int, observations: list[dict[str, Any]]) -> PrintOutcome:
    """Feed one copy's job observations to its tracker; the job must end at the last one."""
    tracker = JobTracker(number, 1, sheets, fault_grace=2.0)
    for i, ob in enumerate(observations):
        job = JobStatus(1, JobState(ob["job-state"]), (), ob["impressions"])
        printer = PrinterStatus(PrinterStateCode(ob["printer-state"]), tuple(ob["reasons"]), "",
                                True)  # fmt: skip
        outcome = tracker.observe(job, condition(printer), ob["t"])
        if outcome is not None:
            assert i == len(observations) - 1, f"{number}: job ended early, at {ob}"
            return outcome
    raise AssertionError(f"{number}: the job never ended")


def run(vector: dict[str, Any]) -> CopyTally:
    tally = CopyTally(tuple(c["number"] for c in vector["copies"]))
    for copy in vector["copies"]:
        if copy["observations"]:
            tally.record(follow(copy["number"], copy["sheets"], copy["observations"]))
    return tally


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_vector(vector: dict[str, Any]) -> None:
    tally = run(vector)
    assert tally.printed == tuple(vector["printed"])
    assert tally.not_printed == tuple(vector["not_printed"])
    assert tally.sheets_done == vector["sheets_done"]
    assert tally.complete is (not vector["not_printed"])


def test_the_vectors_cover_paper_out_after_copy_2_of_3() -> None:
    names = [v["name"] for v in VECTORS]
    assert any("after copy 2 of 3" in n for n in names)
    # every copy is either printed or not, never both, in print order
    for v in VECTORS:
        numbers = [c["number"] for c in v["copies"]]
        assert sorted(v["printed"] + v["not_printed"]) == sorted(numbers), v["name"]


def test_an_outcome_for_another_run_is_refused() -> None:
    tally = CopyTally(("C-1", "C-2"))
    stray = PrintOutcome("C-9", 7, 1, 1, True, PrinterState.READY)
    with pytest.raises(UnknownCopy):
        tally.record(stray)
    assert tally.printed == () and tally.not_printed == ("C-1", "C-2")


def test_a_stopped_copy_is_replaced_by_its_later_outcome() -> None:
    """The port records each copy once; a second record (a resumed job) is the last word."""
    tally = CopyTally(("C-1",))
    tally.record(PrintOutcome("C-1", 1, 1, 0, False, PrinterState.PAPER_OUT))
    assert tally.not_printed == ("C-1",)
    tally.record(PrintOutcome("C-1", 1, 1, 1, True, PrinterState.READY))
    assert tally.printed == ("C-1",)
