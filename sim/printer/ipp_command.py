"""The print command ippeveprinter runs for each job (its ``-c`` option).

It plays the printer's engine: counts the PDF's pages, reports each printed side back to
ippeveprinter as ``ATTR: job-impressions-completed=N`` on stderr, applies a scripted fault
(paper out, jam, door open, toner empty) after a given number of sheets of this job, or of
the jobs that follow (``across_jobs``: paper out after copy 2 of 3), and lands the
printed document in the simulator's output directory. Every job appends a line to
``jobs.jsonl`` there.

Environment (set by :class:`sim.printer.ipp_sim.IppPrinterSim`): KOFU_SIM_PRINTER_DIR (state
and output), KOFU_SIM_PRINTER_SIDE_S (seconds per printed side).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

from pypdf import PdfReader

# fault name -> printer-state-reasons keyword ippeveprinter should report
FAULT_KEYWORDS = {
    "paper_out": "media-empty",
    "jam": "media-jam",
    "door_open": "door-open",
    "toner_empty": "toner-empty",
}


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def take_fault(state: Path, sheets: int) -> dict[str, object] | None:
    """The scripted fault for this job of ``sheets`` sheets, consumed (one-shot).

    A fault ``across_jobs`` counts its ``after_sheets`` over the jobs that follow, as a
    tray with that many sheets left: a job that fits takes its sheets from the count and
    prints whole (the fault waits for the next job); the first job that does not fit stops
    where the paper runs out, as a real engine does when it cannot pick the next sheet."""
    fault = state / "fault.json"
    taken = state / f"fault.{os.getpid()}.json"
    try:
        fault.rename(taken)
    except FileNotFoundError:
        return None
    data: dict[str, object] = json.loads(taken.read_text(encoding="utf-8"))
    taken.unlink()
    left = int(str(data.get("after_sheets", 0)))
    if data.get("across_jobs") and sheets <= left:
        if not fault.exists():  # a fault scripted meanwhile replaces this one
            tmp = state / f"fault.{os.getpid()}.tmp"
            tmp.write_text(json.dumps({**data, "after_sheets": left - sheets}), encoding="utf-8")
            tmp.replace(fault)
        return None
    return data


def main(argv: list[str]) -> int:
    if not argv:
        _say("ERROR: no document")
        return 2
    src = Path(argv[-1])
    state = Path(os.environ["KOFU_SIM_PRINTER_DIR"])
    side_s = float(os.environ.get("KOFU_SIM_PRINTER_SIDE_S", "0.05"))
    job_id = int(os.environ.get("IPP_JOB_ID", "0"))
    name = os.environ.get("IPP_JOB_NAME", "job")
    sides = os.environ.get("IPP_SIDES", "one-sided")
    pages = len(PdfReader(str(src)).pages)
    per_sheet = 2 if sides != "one-sided" else 1
    fault = take_fault(state, -(-pages // per_sheet))
    stop_at = None
    if fault is not None:
        stop_at = int(str(fault.get("after_sheets", 0))) * per_sheet
    done = 0
    result = "completed"
    for _ in range(pages):
        if stop_at is not None and done >= stop_at:
            keyword = FAULT_KEYWORDS[str(fault["kind"])] if fault else "other"
            _say(f"STATE: +{keyword}")
            result = str(fault["kind"]) if fault else "error"
            break
        time.sleep(side_s)
        done += 1
        _say(f"ATTR: job-impressions-completed={done}")
    out = state / "printed"
    out.mkdir(exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
    landed = None
    if result == "completed":
        log = state / "jobs.jsonl"
        seq = 1 + (len(log.read_text(encoding="utf-8").splitlines()) if log.exists() else 0)
        landed = out / f"{seq:04d}-job{job_id}-{safe}.pdf"
        shutil.copyfile(src, landed)
    with (state / "jobs.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({"job_id": job_id, "name": name, "pages": pages, "sides": sides,
                             "impressions": done, "result": result,
                             "file": landed.name if landed else None}) + "\n")
    if result != "completed":
        time.sleep(0.5)  # let the client see the fault while the job is still processing
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
