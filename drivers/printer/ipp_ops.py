"""The IPP operations the kiosk uses, as pure request builders and reply readers."""

from __future__ import annotations

from dataclasses import dataclass

from drivers.printer.ipp_core import (
    Attr,
    IppError,
    IppMessage,
    JobState,
    Op,
    PrinterStateCode,
    Tag,
    encode_request,
)

DUPLEX = "two-sided-long-edge"
JOB_ATTRS = (
    "job-id", "job-state", "job-state-reasons", "job-impressions-completed",
    "job-media-sheets-completed", "job-name",
)
PRINTER_ATTRS = (
    "printer-state", "printer-state-reasons", "printer-state-message", "printer-is-accepting-jobs",
    "sides-supported", "document-format-supported",
)


def _user(user: str) -> Attr:
    return Attr.of("requesting-user-name", Tag.NAME, user)


def _job_template(sides: str, copies: int) -> list[Attr]:
    return [
        Attr.of("sides", Tag.KEYWORD, sides),
        Attr.of("copies", Tag.INTEGER, copies),
        Attr.of("media", Tag.KEYWORD, "iso_a4_210x297mm"),
    ]


def print_job(
    uri: str, request_id: int, pdf: bytes, job_name: str, *, sides: str = DUPLEX,
    copies: int = 1, user: str = "kofu",
) -> bytes:
    op = [
        Attr.of("printer-uri", Tag.URI, uri), _user(user),
        Attr.of("job-name", Tag.NAME, job_name),
        Attr.of("document-format", Tag.MIME, "application/pdf"),
    ]
    return encode_request(Op.PRINT_JOB, request_id, op, _job_template(sides, copies), pdf)


def create_job(
    uri: str, request_id: int, job_name: str, *, sides: str = DUPLEX, copies: int = 1,
    user: str = "kofu",
) -> bytes:
    op = [
        Attr.of("printer-uri", Tag.URI, uri), _user(user), Attr.of("job-name", Tag.NAME, job_name),
    ]
    return encode_request(Op.CREATE_JOB, request_id, op, _job_template(sides, copies))


def send_document(
    uri: str, request_id: int, job_id: int, pdf: bytes, *, last: bool = True, user: str = "kofu"
) -> bytes:
    op = [
        Attr.of("printer-uri", Tag.URI, uri), Attr.of("job-id", Tag.INTEGER, job_id), _user(user),
        Attr.of("document-format", Tag.MIME, "application/pdf"),
        Attr.of("last-document", Tag.BOOLEAN, last),
    ]
    return encode_request(Op.SEND_DOCUMENT, request_id, op, data=pdf)


def get_job_attributes(uri: str, request_id: int, job_id: int, user: str = "kofu") -> bytes:
    op = [
        Attr.of("printer-uri", Tag.URI, uri), Attr.of("job-id", Tag.INTEGER, job_id), _user(user),
        Attr("requested-attributes", Tag.KEYWORD, JOB_ATTRS),
    ]
    return encode_request(Op.GET_JOB_ATTRIBUTES, request_id, op)


def get_jobs(uri: str, request_id: int, which: str, user: str = "kofu") -> bytes:
    """``which``: ``completed`` or ``not-completed`` (the two values every printer knows)."""
    op = [
        Attr.of("printer-uri", Tag.URI, uri), _user(user),
        Attr.of("which-jobs", Tag.KEYWORD, which),
        Attr("requested-attributes", Tag.KEYWORD, JOB_ATTRS),
    ]
    return encode_request(Op.GET_JOBS, request_id, op)


def get_printer_attributes(uri: str, request_id: int, user: str = "kofu") -> bytes:
    op = [
        Attr.of("printer-uri", Tag.URI, uri), _user(user),
        Attr("requested-attributes", Tag.KEYWORD, PRINTER_ATTRS),
    ]
    return encode_request(Op.GET_PRINTER_ATTRIBUTES, request_id, op)


def cancel_job(uri: str, request_id: int, job_id: int, user: str = "kofu") -> bytes:
    op = [Attr.of("printer-uri", Tag.URI, uri), Attr.of("job-id", Tag.INTEGER, job_id), _user(user)]
    return encode_request(Op.CANCEL_JOB, request_id, op)


def require_ok(reply: IppMessage, what: str) -> IppMessage:
    if not reply.ok:
        raise IppError(f"{what}: status 0x{reply.code:04x} {reply.status_message}".strip())
    return reply


@dataclass(frozen=True)
class JobStatus:
    job_id: int
    state: JobState
    reasons: tuple[str, ...]
    impressions_completed: int


@dataclass(frozen=True)
class JobRecord:
    """One job the printer still knows of (Get-Jobs)."""

    job_id: int
    name: str
    state: JobState
    impressions_completed: int


@dataclass(frozen=True)
class PrinterStatus:
    state: PrinterStateCode
    reasons: tuple[str, ...]
    message: str
    accepting: bool


def _keywords(values: object) -> tuple[str, ...]:
    if not isinstance(values, list):
        return ()
    return tuple(v for v in values if isinstance(v, str) and v != "none")


def read_job_id(reply: IppMessage) -> int:
    require_ok(reply, "job submission")
    job_id = reply.first(Tag.JOB, "job-id")
    if not isinstance(job_id, int) or isinstance(job_id, bool):
        raise IppError("reply carries no job-id")
    return job_id


def read_job_status(reply: IppMessage) -> JobStatus:
    require_ok(reply, "Get-Job-Attributes")
    attrs = reply.group(Tag.JOB)
    job_id = reply.first(Tag.JOB, "job-id")
    state = reply.first(Tag.JOB, "job-state")
    done = reply.first(Tag.JOB, "job-impressions-completed")
    if not isinstance(job_id, int) or not isinstance(state, int):
        raise IppError("job attributes lack job-id or job-state")
    try:
        job_state = JobState(state)
    except ValueError as exc:
        raise IppError(f"unknown job-state {state}") from exc
    return JobStatus(
        job_id, job_state, _keywords(attrs.get("job-state-reasons")),
        done if isinstance(done, int) and not isinstance(done, bool) else 0,
    )


def read_jobs(reply: IppMessage) -> list[JobRecord]:
    """The jobs of a Get-Jobs reply; a job group without id or a known state is skipped."""
    require_ok(reply, "Get-Jobs")
    out = []
    for attrs in reply.groups_of(Tag.JOB):
        job_id, state, name, done = (
            (attrs.get(k) or [None])[0]
            for k in ("job-id", "job-state", "job-name", "job-impressions-completed")
        )
        if not isinstance(job_id, int) or not isinstance(state, int):
            continue
        try:
            job_state = JobState(state)
        except ValueError:
            continue
        out.append(JobRecord(
            job_id, name if isinstance(name, str) else "", job_state,
            done if isinstance(done, int) and not isinstance(done, bool) else 0,
        ))  # fmt: skip
    return out


def read_printer_status(reply: IppMessage) -> PrinterStatus:
    require_ok(reply, "Get-Printer-Attributes")
    attrs = reply.group(Tag.PRINTER)
    state = reply.first(Tag.PRINTER, "printer-state")
    message = reply.first(Tag.PRINTER, "printer-state-message")
    accepting = reply.first(Tag.PRINTER, "printer-is-accepting-jobs")
    try:
        code = PrinterStateCode(state) if isinstance(state, int) else PrinterStateCode.STOPPED
    except ValueError as exc:
        raise IppError(f"unknown printer-state {state!r}") from exc
    return PrinterStatus(
        code, _keywords(attrs.get("printer-state-reasons")),
        message if isinstance(message, str) else "", accepting is not False,
    )
