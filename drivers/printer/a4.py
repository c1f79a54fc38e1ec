"""The A4 certificate printer: one interface, an IPP backend talking straight to the printer.

Each certificate copy is its own IPP job, so after any failure the kiosk knows which pages
of which certificate came out: a job's ``job-impressions-completed`` counts printed sides,
and our PDFs have two pages (front, back) per sheet.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from drivers.printer import ipp_ops
from drivers.printer.ipp_core import IppError, JobState
from drivers.printer.ipp_http import IppHttp, PrinterUnreachable
from drivers.printer.states import OFFLINE, PrinterCondition, PrinterState, condition

IMPRESSIONS_PER_SHEET = 2  # duplex


@dataclass(frozen=True)
class PrintOutcome:
    """What came out for one certificate copy."""

    certificate_number: str
    job_id: int | None
    sheets_total: int
    sheets_done: int
    completed: bool
    state: PrinterState  # the printer's condition when the job ended or stalled
    reasons: tuple[str, ...] = ()
    detail: str = ""

    @property
    def printed_sheets(self) -> tuple[int, ...]:
        """1-based sheet numbers ("n" of "n / m") that came out whole."""
        return tuple(range(1, self.sheets_done + 1))

    @property
    def missing_sheets(self) -> tuple[int, ...]:
        return tuple(range(self.sheets_done + 1, self.sheets_total + 1))

    @property
    def came_out(self) -> bool:
        """The whole copy is in the tray: its job completed, or every sheet was counted
        printed before the job stopped (a fault reported after the last sheet still leaves
        the citizen holding the copy: reprinting it would hand out a duplicate number)."""
        return self.completed or 0 < self.sheets_total <= self.sheets_done


class PrintRefused(RuntimeError):
    """The printer cannot take a job now (its condition says why)."""

    def __init__(self, cond: PrinterCondition) -> None:
        super().__init__(f"printer not ready: {cond.state.value} {' '.join(cond.reasons)}")
        self.condition = cond


class A4Printer(Protocol):
    def condition(self) -> PrinterCondition: ...

    def print_certificate(
        self, pdf: bytes, certificate_number: str, sheets: int, *, timeout: float = 300.0,
        on_progress: Callable[[int], None] | None = None,
    ) -> PrintOutcome: ...

    def close(self) -> None: ...


@dataclass
class JobTracker:
    """Decides, from successive job/printer observations, when a job is over (pure logic).

    A fault that stops the job (paper out, jam, door, toner, offline) ends tracking after
    ``fault_grace`` seconds with what was printed so far; the caller then cancels the rest
    so a refilled printer does not print orphan sheets unattended.
    """

    certificate_number: str
    job_id: int
    sheets: int
    fault_grace: float = 2.0
    impressions: int = 0
    _fault_since: float | None = field(default=None, repr=False)

    @property
    def sheets_done(self) -> int:
        return min(self.sheets, self.impressions // IMPRESSIONS_PER_SHEET)

    def _outcome(self, completed: bool, cond: PrinterCondition, detail: str) -> PrintOutcome:
        done = self.sheets if completed else self.sheets_done
        return PrintOutcome(self.certificate_number, self.job_id, self.sheets, done, completed,
                            cond.state, cond.reasons, detail)

    def observe(self, job: ipp_ops.JobStatus, cond: PrinterCondition, now: float
                ) -> PrintOutcome | None:
        self.impressions = max(self.impressions, job.impressions_completed)
        if job.state is JobState.COMPLETED:
            return self._outcome(True, cond, "completed")
        if job.state.terminal:
            state = cond if not cond.state.can_print else PrinterCondition(
                PrinterState.ERROR, cond.warnings, cond.reasons, cond.message)
            return self._outcome(False, state, f"job {job.state.name.lower()}: "
                                 + " ".join(job.reasons))
        faulted = job.state is JobState.PROCESSING_STOPPED or not cond.state.can_print
        if not faulted:
            self._fault_since = None
            return None
        if self._fault_since is None:
            self._fault_since = now
        if now - self._fault_since >= self.fault_grace:
            return self._outcome(False, cond, f"stopped: {cond.state.value}")
        return None


class IppA4Printer:
    """A4 printer over IPP. ``use_create_job`` sends Create-Job + Send-Document instead of
    Print-Job (some printers only report job progress properly that way)."""

    def __init__(self, uri: str, *, poll_interval: float = 0.25, fault_grace: float = 2.0,
                 use_create_job: bool = False, cancel_on_fault: bool = True,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.uri = uri
        self.poll_interval = poll_interval
        self.fault_grace = fault_grace
        self.use_create_job = use_create_job
        self.cancel_on_fault = cancel_on_fault
        self._clock = clock
        self._http = IppHttp(uri)
        self._ids = itertools.count(1)

    def _rid(self) -> int:
        return next(self._ids)

    def condition(self) -> PrinterCondition:
        try:
            status = ipp_ops.read_printer_status(
                self._http.exchange(ipp_ops.get_printer_attributes(self.uri, self._rid())))
        except PrinterUnreachable:
            return OFFLINE
        return condition(status)

    def submit(self, pdf: bytes, job_name: str) -> int:
        if self.use_create_job:
            job_id = ipp_ops.read_job_id(
                self._http.exchange(ipp_ops.create_job(self.uri, self._rid(), job_name)))
            ipp_ops.require_ok(self._http.exchange(
                ipp_ops.send_document(self.uri, self._rid(), job_id, pdf)), "Send-Document")
            return job_id
        return ipp_ops.read_job_id(
            self._http.exchange(ipp_ops.print_job(self.uri, self._rid(), pdf, job_name)))

    def job_status(self, job_id: int) -> ipp_ops.JobStatus:
        return ipp_ops.read_job_status(
            self._http.exchange(ipp_ops.get_job_attributes(self.uri, self._rid(), job_id)))

    def jobs(self) -> list[ipp_ops.JobRecord]:
        """Every job the printer still knows of, finished or not (after a host restart, what
        came out of the jobs the host submitted before it died)."""
        out: list[ipp_ops.JobRecord] = []
        for which in ("completed", "not-completed"):
            out += ipp_ops.read_jobs(
                self._http.exchange(ipp_ops.get_jobs(self.uri, self._rid(), which)))
        return out

    def cancel(self, job_id: int) -> None:
        reply = self._http.exchange(ipp_ops.cancel_job(self.uri, self._rid(), job_id))
        # a job that already ended cannot be cancelled: that is fine here
        if not reply.ok and reply.code != 0x0407:  # client-error-not-possible
            ipp_ops.require_ok(reply, "Cancel-Job")

    def print_certificate(
        self, pdf: bytes, certificate_number: str, sheets: int, *, timeout: float = 300.0,
        on_progress: Callable[[int], None] | None = None,
    ) -> PrintOutcome:
        cond = self.condition()
        if not cond.state.can_print:
            raise PrintRefused(cond)
        job_id = self.submit(pdf, f"kofu {certificate_number}")
        tracker = JobTracker(certificate_number, job_id, sheets, self.fault_grace)
        deadline = self._clock() + timeout
        reported = -1
        while True:
            try:
                job = self.job_status(job_id)
            except (PrinterUnreachable, IppError):
                job, cond = None, OFFLINE
            else:
                cond = self.condition()
            if job is not None:
                outcome = tracker.observe(job, cond, self._clock())
                if on_progress is not None and tracker.sheets_done != reported:
                    reported = tracker.sheets_done
                    on_progress(reported)
                if outcome is not None:
                    if not outcome.completed and self.cancel_on_fault:
                        self._cancel_quietly(job_id)
                    return outcome
            if self._clock() > deadline:
                self._cancel_quietly(job_id)
                return PrintOutcome(certificate_number, job_id, sheets, tracker.sheets_done,
                                    False, cond.state, cond.reasons, "timed out")
            time.sleep(self.poll_interval)

    def _cancel_quietly(self, job_id: int) -> None:
        try:
            self.cancel(job_id)
        except (PrinterUnreachable, IppError):
            pass  # the outcome already says what came out; the clerk sees the printer

    def close(self) -> None:
        self._http.close()


def open_a4_printer(config: dict[str, object]) -> A4Printer:
    """The A4 printer from a configuration section: ``uri = "ipp://host:631/ipp/print"``
    (the simulator's URI is filled in by ``kofu sim`` wiring)."""
    uri = config.get("uri")
    if not isinstance(uri, str):
        raise ValueError("printer configuration needs uri = \"ipp://...\"")
    return IppA4Printer(uri, use_create_job=bool(config.get("create_job", False)))
