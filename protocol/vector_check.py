# ruff: noqa: UP031  (MicroPython: %-formatting only, like the codec)
"""Check the link modules (link_frame, link_channel, link_catalog) against vectors.json.
Runs unchanged on CPython (tests) and on the real MicroPython interpreter
(tools/mp_vectors.mjs), so it uses only what both have."""

import binascii

try:
    from protocol import link_catalog as lcat
    from protocol import link_channel as lch
    from protocol import link_frame as lf
except ImportError:  # MicroPython: the link modules sit next to this file
    import link_catalog as lcat  # type: ignore[import-not-found,no-redef,unused-ignore]
    import link_channel as lch  # type: ignore[import-not-found,no-redef,unused-ignore]
    import link_frame as lf  # type: ignore[import-not-found,no-redef,unused-ignore]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _unhex(text: str) -> bytes:
    return bytes(binascii.unhexlify(text))


def _hex(data: "bytes | bytearray") -> str:
    return str(binascii.hexlify(bytes(data)).decode())


def _frame(spec: "dict[str, Any]") -> "lf.Frame":
    return lf.Frame(
        spec["kind"],
        spec["session"],
        spec["seq"],
        spec["ack"],
        spec["msg_id"],
        _unhex(spec["body"]),
    )


def _fixed_rand(values: "list[int]") -> "Any":
    pool = list(values)

    def rand32() -> int:
        return pool.pop(0)

    return rand32


def check(vectors: "dict[str, Any]") -> "list[str]":
    """Every mismatch as a line of text; empty when the codec matches the vectors."""
    bad: list[str] = []
    n = 0
    for v in vectors["crc32"]:
        n += 1
        got = lf.crc32(_unhex(v["data"]))
        soft = lf.crc32_soft(_unhex(v["data"]))
        if got != v["crc"] or soft != v["crc"]:
            bad.append("crc32 %s: got %d/%d want %d" % (v["data"][:16], got, soft, v["crc"]))
    for v in vectors["cobs"]:
        n += 1
        raw = _unhex(v["decoded"])
        enc = _unhex(v["encoded"])
        if lf.cobs_encode(raw) != enc:
            bad.append("cobs encode %s" % v["decoded"][:16])
        try:
            if lf.cobs_decode(enc) != raw:
                bad.append("cobs decode %s" % v["encoded"][:16])
        except lf.DecodeError as exc:
            bad.append("cobs decode %s raised %s" % (v["encoded"][:16], exc.reason))
    if lcat.CATALOG_HASH != vectors["catalog_hash"]:
        bad.append("catalog hash %d want %d" % (lcat.CATALOG_HASH, vectors["catalog_hash"]))
    for v in vectors["messages"]:
        n += 1
        body = lcat.encode_message(v["id"], tuple(v["values"]))
        if _hex(body) != v["body"]:
            bad.append("message %s: %s want %s" % (v["name"], _hex(body), v["body"]))
        if list(lcat.decode_message(v["id"], _unhex(v["body"]))) != v["values"]:
            bad.append("message %s: decode" % v["name"])
    for v in vectors["bad_messages"]:
        n += 1
        try:
            if "values" in v:
                lcat.encode_message(v["id"], tuple(v["values"]))
            else:
                lcat.decode_message(v["id"], _unhex(v["body"]))
            bad.append("bad message %s accepted" % v["what"])
        except lcat.MessageError:
            pass
    for v in vectors["frames"]:
        n += 1
        frame = _frame(v["frame"])
        wire = _hex(lf.encode_frame(frame))
        if wire != v["wire"]:
            bad.append("frame %s: %s want %s" % (v["what"], wire, v["wire"]))
        try:
            wire_bytes = _unhex(v["wire"])
            if wire_bytes[0] != 0 or wire_bytes[-1] != 0:
                bad.append("frame %s: not between two delimiters" % v["what"])
            back = lf.decode_frame(wire_bytes[1:-1], v["frame"]["session"])
            if not back == frame:
                bad.append("frame %s: decoded %r" % (v["what"], back))
        except lf.DecodeError as exc:
            bad.append("frame %s: rejected %s" % (v["what"], exc.reason))
    for v in vectors["rejects"]:
        n += 1
        try:
            lf.decode_frame(_unhex(v["encoded"]), v["session"])
            bad.append("reject %s: accepted" % v["what"])
        except lf.DecodeError as exc:
            if exc.reason != v["reason"]:
                bad.append("reject %s: %s want %s" % (v["what"], exc.reason, v["reason"]))
    for v in vectors["streams"]:
        n += 1
        reader = lf.FrameReader(v["session"])
        results: list[str] = []
        data = _unhex(v["input"])
        step = v["chunk"]
        for i in range(0, len(data), step):
            for item in reader.feed(data[i : i + step]):
                results.append(item.reason if isinstance(item, lf.DecodeError) else "ok")
        if results != v["results"]:
            bad.append("stream %s: %r want %r" % (v["what"], results, v["results"]))
    for v in vectors["handshakes"]:
        n += 1
        ch = lch.Channel(
            v["role"],
            v["fw"],
            0,
            reset_cause=v["reset_cause"],
            catalog_hash=lcat.CATALOG_HASH,
            rand32=_fixed_rand(v["epochs"]),
        )
        ch.tick(0)
        wire = _hex(ch.outgoing())
        if wire != v["hello"]:
            bad.append("handshake %s: hello %s want %s" % (v["what"], wire, v["hello"]))
        events = ch.receive(_unhex(v["peer_hello"]), 1)
        kinds = [type(e).__name__ for e in events]
        if kinds != v["events"]:
            bad.append("handshake %s: events %r want %r" % (v["what"], kinds, v["events"]))
        wire = _hex(ch.outgoing())
        if wire != v["reply"]:
            bad.append("handshake %s: reply %s want %s" % (v["what"], wire, v["reply"]))
    if n == 0:
        bad.append("no vectors")
    return bad


def count(vectors: "dict[str, Any]") -> int:
    keys = ("crc32", "cobs", "messages", "bad_messages", "frames", "rejects", "streams")
    return sum(len(vectors[k]) for k in keys) + len(vectors["handshakes"])
