from __future__ import annotations

import struct

import pytest

from drivers.printer import ipp_ops
from drivers.printer.ipp_core import (
    Attr,
    IppError,
    JobState,
    Op,
    PrinterStateCode,
    Tag,
    decode_message,
    encode_attr,
    encode_request,
)
from drivers.printer.ipp_ops import PrinterStatus
from drivers.printer.states import PrinterState, PrinterWarning, base_keyword, condition

URI = "ipp://printer.local:631/ipp/print"


def response(groups: list[tuple[int, list[Attr]]], status: int = 0) -> bytes:
    out = bytearray(struct.pack(">BBHi", 2, 0, status, 7))
    for tag, attrs in groups:
        out.append(tag)
        for a in attrs:
            out += encode_attr(a)
    out.append(Tag.END)
    return bytes(out)


def test_print_job_request_layout() -> None:
    raw = ipp_ops.print_job(URI, 42, b"%PDF-1.4 body", "kofu 999001-2026-000101")
    msg = decode_message(raw)
    assert msg.version == (2, 0) and msg.code == Op.PRINT_JOB and msg.request_id == 42
    op = msg.group(Tag.OPERATION)
    assert list(op)[:2] == ["attributes-charset", "attributes-natural-language"]
    assert op["printer-uri"] == [URI] and op["document-format"] == ["application/pdf"]
    assert msg.group(Tag.JOB)["sides"] == ["two-sided-long-edge"]
    assert msg.data == b"%PDF-1.4 body"


def test_create_job_send_document_and_queries() -> None:
    create = decode_message(ipp_ops.create_job(URI, 1, "j"))
    assert create.code == Op.CREATE_JOB and create.group(Tag.JOB)["sides"] == [ipp_ops.DUPLEX]
    send = decode_message(ipp_ops.send_document(URI, 2, 9, b"PDF"))
    assert send.group(Tag.OPERATION)["job-id"] == [9]
    assert send.group(Tag.OPERATION)["last-document"] == [True] and send.data == b"PDF"
    get = decode_message(ipp_ops.get_job_attributes(URI, 3, 9))
    assert "job-impressions-completed" in get.group(Tag.OPERATION)["requested-attributes"]
    assert decode_message(ipp_ops.cancel_job(URI, 4, 9)).code == Op.CANCEL_JOB


def test_decode_job_status_multivalue_and_collection() -> None:
    raw = response([
        (Tag.OPERATION, [Attr.of("status-message", Tag.TEXT, "ok")]),
        (Tag.JOB, [Attr.of("job-id", Tag.INTEGER, 5), Attr.of("job-state", Tag.ENUM, 6),
                   Attr.of("job-state-reasons", Tag.KEYWORD, "job-printing", "media-jam"),
                   Attr.of("job-impressions-completed", Tag.INTEGER, 3)]),
    ])
    # a media-col collection, as printers send in their attributes
    raw = raw[:-1] + bytes([Tag.PRINTER]) + b"".join(encode_attr(a) for a in (
        Attr.of("media-col", Tag.BEG_COLLECTION, b""),
        Attr.of("", Tag.MEMBER_NAME, "media-size-name"),
        Attr.of("", Tag.KEYWORD, "iso_a4_210x297mm"),
        Attr.of("", Tag.END_COLLECTION, b""),
    )) + bytes([Tag.END])
    msg = decode_message(raw)
    status = ipp_ops.read_job_status(msg)
    assert status.state is JobState.PROCESSING_STOPPED and status.impressions_completed == 3
    assert status.reasons == ("job-printing", "media-jam")
    assert msg.group(Tag.PRINTER)["media-col"] == [{"media-size-name": ["iso_a4_210x297mm"]}]


@pytest.mark.parametrize("raw", [b"", b"\x02\x00\x00", b"\x02\x00\x00\x00\x00\x00\x00\x01\x01",
                                 b"\x02\x00\x00\x00\x00\x00\x00\x01\x21\x00\x01a\x00\x02xx\x03",
                                 b"\x02\x00\x00\x00\x00\x00\x00\x01\x21\x00\x01a\x00\x04"])
def test_malformed_messages_raise(raw: bytes) -> None:
    with pytest.raises(IppError):
        decode_message(raw)


def test_error_status_and_missing_job_id() -> None:
    err = decode_message(response([(Tag.OPERATION, [
        Attr.of("status-message", Tag.TEXT, "not found")])], status=0x0406))
    with pytest.raises(IppError, match="0x0406 not found"):
        ipp_ops.read_job_status(err)
    with pytest.raises(IppError, match="job-id"):
        ipp_ops.read_job_id(decode_message(response([(Tag.OPERATION, [])])))


def test_encode_rejects_wrong_value_types() -> None:
    with pytest.raises(IppError):
        encode_request(Op.PRINT_JOB, 1, [Attr.of("copies", Tag.INTEGER, "two")])


def status(state: PrinterStateCode, *reasons: str, accepting: bool = True) -> PrinterStatus:
    return PrinterStatus(state, reasons, "", accepting)


@pytest.mark.parametrize(("reasons", "expected"), [
    ((), PrinterState.READY),
    (("media-empty-report",), PrinterState.PAPER_OUT),
    (("media-needed-warning",), PrinterState.PAPER_OUT),
    (("media-jam-error",), PrinterState.JAM),
    (("door-open-error", "media-empty-report"), PrinterState.DOOR_OPEN),
    (("toner-empty-error",), PrinterState.TONER_OUT),
    (("offline-report",), PrinterState.OFFLINE),
    (("toner-low-report", "media-low-report"), PrinterState.READY),
])
def test_state_reasons_map_to_kiosk_states(reasons: tuple[str, ...],
                                           expected: PrinterState) -> None:
    assert condition(status(PrinterStateCode.IDLE, *reasons)).state is expected


def test_warnings_and_unknown_stop() -> None:
    cond = condition(status(PrinterStateCode.IDLE, "toner-low-report", "media-low-report"))
    assert cond.warnings == (PrinterWarning.PAPER_LOW, PrinterWarning.TONER_LOW)
    assert condition(status(PrinterStateCode.STOPPED, "other-error")).state is PrinterState.ERROR
    assert condition(status(PrinterStateCode.PROCESSING)).state is PrinterState.PRINTING
    assert base_keyword("media-jam-warning") == "media-jam"
