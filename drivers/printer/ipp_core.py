"""Sans-IO IPP/2.0 (RFC 8010/8011): encode requests and decode responses as bytes.

No sockets here: :func:`encode_request` gives the body of an HTTP POST with content type
``application/ipp``; :func:`decode_message` parses the body of the reply. The transport
(:mod:`drivers.printer.ipp_http`) only moves those bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TypeAlias


class IppError(Exception):
    """A malformed IPP message or an IPP status that is not successful."""


class Op(IntEnum):
    PRINT_JOB = 0x0002
    VALIDATE_JOB = 0x0004
    CREATE_JOB = 0x0005
    SEND_DOCUMENT = 0x0006
    CANCEL_JOB = 0x0008
    GET_JOB_ATTRIBUTES = 0x0009
    GET_JOBS = 0x000A
    GET_PRINTER_ATTRIBUTES = 0x000B


class Tag(IntEnum):
    # delimiters
    OPERATION = 0x01
    JOB = 0x02
    END = 0x03
    PRINTER = 0x04
    UNSUPPORTED_GROUP = 0x05
    # out-of-band values
    UNSUPPORTED = 0x10
    UNKNOWN = 0x12
    NO_VALUE = 0x13
    # values
    INTEGER = 0x21
    BOOLEAN = 0x22
    ENUM = 0x23
    OCTET_STRING = 0x30
    DATETIME = 0x31
    RESOLUTION = 0x32
    RANGE = 0x33
    BEG_COLLECTION = 0x34
    TEXT_WITH_LANG = 0x35
    NAME_WITH_LANG = 0x36
    END_COLLECTION = 0x37
    TEXT = 0x41
    NAME = 0x42
    KEYWORD = 0x44
    URI = 0x45
    URI_SCHEME = 0x46
    CHARSET = 0x47
    LANGUAGE = 0x48
    MIME = 0x49
    MEMBER_NAME = 0x4A


class JobState(IntEnum):
    PENDING = 3
    PENDING_HELD = 4
    PROCESSING = 5
    PROCESSING_STOPPED = 6
    CANCELED = 7
    ABORTED = 8
    COMPLETED = 9

    @property
    def terminal(self) -> bool:
        return self >= JobState.CANCELED


class PrinterStateCode(IntEnum):
    IDLE = 3
    PROCESSING = 4
    STOPPED = 5


# A decoded value: ints, bools, text, raw bytes (dateTime, octetString), tuples for
# resolution/range, dicts for collections, None for out-of-band values.
Value: TypeAlias = int | bool | str | bytes | tuple[int, ...] | dict[str, "list[Value]"] | None

_INT_TAGS = {Tag.INTEGER, Tag.ENUM}
_STR_TAGS = {
    Tag.TEXT, Tag.NAME, Tag.KEYWORD, Tag.URI, Tag.URI_SCHEME, Tag.CHARSET, Tag.LANGUAGE,
    Tag.MIME, Tag.MEMBER_NAME,
}
_GROUP_TAGS = {Tag.OPERATION, Tag.JOB, Tag.PRINTER, Tag.UNSUPPORTED_GROUP, 0x06, 0x07, 0x08,
               0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F}


@dataclass(frozen=True)
class Attr:
    """One attribute to encode: a name, its value tag and one or more values."""

    name: str
    tag: Tag
    values: tuple[int | bool | str | bytes, ...]

    @classmethod
    def of(cls, name: str, tag: Tag, *values: int | bool | str | bytes) -> Attr:
        return cls(name, tag, values)


@dataclass
class IppMessage:
    """A decoded request or response."""

    version: tuple[int, int]
    code: int  # operation-id in a request, status-code in a response
    request_id: int
    groups: list[tuple[int, dict[str, list[Value]]]] = field(default_factory=list)
    data: bytes = b""

    @property
    def ok(self) -> bool:
        return self.code < 0x0100

    def group(self, tag: int) -> dict[str, list[Value]]:
        """The first group with ``tag`` (empty when absent)."""
        for gtag, attrs in self.groups:
            if gtag == tag:
                return attrs
        return {}

    def groups_of(self, tag: int) -> list[dict[str, list[Value]]]:
        return [attrs for gtag, attrs in self.groups if gtag == tag]

    def first(self, tag: int, name: str) -> Value:
        values = self.group(tag).get(name)
        return values[0] if values else None

    @property
    def status_message(self) -> str:
        value = self.first(Tag.OPERATION, "status-message")
        return value if isinstance(value, str) else ""


def _encode_value(tag: Tag, value: int | bool | str | bytes) -> bytes:
    if tag is Tag.BOOLEAN:
        return b"\x01" if value else b"\x00"
    if tag in _INT_TAGS:
        if not isinstance(value, int):
            raise IppError(f"integer value expected for tag {tag.name}")
        return struct.pack(">i", value)
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bytes):
        return value
    raise IppError(f"cannot encode {type(value).__name__} as {tag.name}")


def encode_attr(attr: Attr) -> bytes:
    out = bytearray()
    name = attr.name.encode("ascii")
    for i, value in enumerate(attr.values):
        raw = _encode_value(attr.tag, value)
        n = name if i == 0 else b""  # additional values carry an empty name
        out += struct.pack(">BH", attr.tag, len(n)) + n + struct.pack(">H", len(raw)) + raw
    return bytes(out)


def encode_request(
    op: Op,
    request_id: int,
    operation: list[Attr],
    job: list[Attr] | None = None,
    data: bytes = b"",
    version: tuple[int, int] = (2, 0),
) -> bytes:
    """An IPP request; ``attributes-charset`` and ``-natural-language`` are put first."""
    out = bytearray(struct.pack(">BBHi", version[0], version[1], op, request_id))
    out.append(Tag.OPERATION)
    out += encode_attr(Attr.of("attributes-charset", Tag.CHARSET, "utf-8"))
    out += encode_attr(Attr.of("attributes-natural-language", Tag.LANGUAGE, "ja"))
    for attr in operation:
        out += encode_attr(attr)
    if job:
        out.append(Tag.JOB)
        for attr in job:
            out += encode_attr(attr)
    out.append(Tag.END)
    return bytes(out) + data


class _Reader:
    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.raw):
            raise IppError("truncated IPP message")
        chunk = self.raw[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        value: int = struct.unpack(">H", self.take(2))[0]
        return value


def _decode_value(tag: int, raw: bytes) -> Value:
    if tag in (Tag.UNSUPPORTED, Tag.UNKNOWN, Tag.NO_VALUE) or 0x10 <= tag <= 0x1F:
        return None
    if tag in _INT_TAGS:
        if len(raw) != 4:
            raise IppError("integer value of wrong length")
        integer: int = struct.unpack(">i", raw)[0]
        return integer
    if tag == Tag.BOOLEAN:
        if len(raw) != 1:
            raise IppError("boolean value of wrong length")
        return raw != b"\x00"
    if tag == Tag.RESOLUTION:
        if len(raw) != 9:
            raise IppError("resolution value of wrong length")
        return tuple(struct.unpack(">iib", raw))
    if tag == Tag.RANGE:
        if len(raw) != 8:
            raise IppError("range value of wrong length")
        return tuple(struct.unpack(">ii", raw))
    if tag in (Tag.TEXT_WITH_LANG, Tag.NAME_WITH_LANG):
        r = _Reader(raw)
        r.take(r.u16())  # language
        return r.take(r.u16()).decode("utf-8", "replace")
    if tag in _STR_TAGS:
        return raw.decode("utf-8", "replace")
    return raw


# Collections nest a few levels in real replies (media-col-database > media-col > media-size
# is 3); a reply nested deeper is malformed, and unbounded it would exhaust Python's stack.
MAX_COLLECTION_DEPTH = 10


def _read_collection(r: _Reader, depth: int = 1) -> dict[str, list[Value]]:
    if depth > MAX_COLLECTION_DEPTH:
        raise IppError(f"collections nested deeper than {MAX_COLLECTION_DEPTH}")
    members: dict[str, list[Value]] = {}
    current: str | None = None
    while True:
        tag = r.u8()
        r.take(r.u16())  # member attributes have an empty name
        raw = r.take(r.u16())
        if tag == Tag.END_COLLECTION:
            return members
        if tag == Tag.MEMBER_NAME:
            current = raw.decode("utf-8", "replace")
            members.setdefault(current, [])
            continue
        if current is None:
            raise IppError("collection value without a member name")
        value: Value
        if tag == Tag.BEG_COLLECTION:
            value = _read_collection(r, depth + 1)
        else:
            value = _decode_value(tag, raw)
        members[current].append(value)


def decode_message(raw: bytes) -> IppMessage:
    """Decode an IPP message (request or response); raises :class:`IppError` if malformed."""
    r = _Reader(raw)
    major, minor = r.u8(), r.u8()
    code = r.u16()
    (request_id,) = struct.unpack(">i", r.take(4))
    msg = IppMessage((major, minor), code, request_id)
    attrs: dict[str, list[Value]] | None = None
    last: str | None = None
    while True:
        tag = r.u8()
        if tag == Tag.END:
            break
        if tag in _GROUP_TAGS:
            attrs = {}
            msg.groups.append((tag, attrs))
            last = None
            continue
        if attrs is None:
            raise IppError("attribute outside any group")
        name = r.take(r.u16()).decode("utf-8", "replace")
        raw_value = r.take(r.u16())
        value = _read_collection(r) if tag == Tag.BEG_COLLECTION else _decode_value(tag, raw_value)
        if name:
            last = name
            attrs[name] = [value]
        elif last is None:
            raise IppError("additional value without an attribute")
        else:
            attrs[last].append(value)
    msg.data = raw[r.pos :]
    return msg
