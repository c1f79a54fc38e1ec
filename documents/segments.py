"""Splitting a signed payload over several 2D codes, and joining them back.

A payload larger than one comfortably scannable QR code is cut into segments, each::

    b"KFS1" | index (1) | count (1) | set id (4) | data

The set id (first 4 bytes of SHA-256 of the whole payload) keeps segments of different
certificates from being mixed; the joined payload is checked against it.
"""

from __future__ import annotations

import hashlib

SEGMENT_MAGIC = b"KFS1"
HEADER_LEN = len(SEGMENT_MAGIC) + 2 + 4
MAX_SEGMENT_DATA = 700  # bytes: QR version ~25 at level M, easy at 150-300 dpi


class SegmentError(ValueError):
    """Segments that do not form one complete payload."""


def set_id(payload: bytes) -> bytes:
    return hashlib.sha256(payload).digest()[:4]


def split(payload: bytes, max_data: int = MAX_SEGMENT_DATA) -> list[bytes]:
    if not payload:
        raise ValueError("empty payload")
    chunks = [payload[i : i + max_data] for i in range(0, len(payload), max_data)]
    if len(chunks) > 255:
        raise ValueError("payload too large for 255 segments")
    sid = set_id(payload)
    return [SEGMENT_MAGIC + bytes([i, len(chunks)]) + sid + c for i, c in enumerate(chunks)]


def join(codes: list[bytes]) -> bytes:
    """The payload from decoded code contents (order and duplicates do not matter).

    Contents that are not segments are ignored (a stray code on the scan); raises
    SegmentError when no complete, consistent set is present.
    """
    sets: dict[bytes, dict[int, bytes]] = {}
    counts: dict[bytes, int] = {}
    for raw in codes:
        if not raw.startswith(SEGMENT_MAGIC) or len(raw) <= HEADER_LEN:
            continue
        index, count = raw[4], raw[5]
        sid = raw[6:10]
        if count == 0 or index >= count or counts.setdefault(sid, count) != count:
            raise SegmentError("inconsistent segment header")
        sets.setdefault(sid, {})[index] = raw[HEADER_LEN:]
    if not sets:
        raise SegmentError("no certificate code found")
    if len(sets) > 1:
        raise SegmentError("codes of more than one certificate on the scan")
    (sid, parts), = sets.items()
    missing = [i for i in range(counts[sid]) if i not in parts]
    if missing:
        raise SegmentError(f"missing code segment(s) {', '.join(str(i + 1) for i in missing)}"
                           f" of {counts[sid]}")
    payload = b"".join(parts[i] for i in range(counts[sid]))
    if set_id(payload) != sid:
        raise SegmentError("segments do not match their set id")
    return payload
