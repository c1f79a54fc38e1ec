"""Nested IPP collections: a reply nested deeper than any printer sends is malformed
(`IppError`, the parser's documented error), never a RecursionError."""

from __future__ import annotations

import struct

import pytest

from drivers.printer.ipp_core import MAX_COLLECTION_DEPTH, IppError, Tag, decode_message


def value(tag: int, name: bytes = b"", raw: bytes = b"") -> bytes:
    return struct.pack(">BH", tag, len(name)) + name + struct.pack(">H", len(raw)) + raw


def nested(depth: int, *, closed: bool = True) -> bytes:
    """A Get-Printer-Attributes reply whose ``media-col`` nests ``depth`` collections (left
    open, as a hostile reply may, when not ``closed``)."""
    out = bytearray(struct.pack(">BBHi", 2, 0, 0, 1))
    out.append(Tag.PRINTER)
    out += value(Tag.BEG_COLLECTION, b"media-col")
    for _ in range(depth - 1):
        out += value(Tag.MEMBER_NAME, raw=b"m") + value(Tag.BEG_COLLECTION)
    out += value(Tag.MEMBER_NAME, raw=b"media-size-name") + value(Tag.KEYWORD, raw=b"iso_a4")
    if closed:
        out += value(Tag.END_COLLECTION) * depth
        out.append(Tag.END)
    return bytes(out)


def test_the_deepest_allowed_nesting_decodes() -> None:
    msg = decode_message(nested(MAX_COLLECTION_DEPTH))
    inner = msg.group(Tag.PRINTER)["media-col"][0]
    for _ in range(MAX_COLLECTION_DEPTH - 1):
        assert isinstance(inner, dict)
        inner = inner["m"][0]
    assert inner == {"media-size-name": ["iso_a4"]}


@pytest.mark.parametrize(
    ("depth", "closed"), [(MAX_COLLECTION_DEPTH + 1, True), (700, True), (1000, False)]
)
def test_deeper_nesting_is_a_malformed_message(depth: int, closed: bool) -> None:
    raw = nested(depth, closed=closed)
    with pytest.raises(IppError, match="nested deeper"):
        decode_message(raw)


def test_the_reply_that_found_it_is_11_kb() -> None:
    raw = nested(1000, closed=False)
    assert 10_000 < len(raw) < 12_000
    with pytest.raises(IppError, match="nested deeper"):
        decode_message(raw)
