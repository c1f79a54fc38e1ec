"""Regenerate protocol/vectors.json from the codec: `python -m protocol.make_vectors`.

The CRC and COBS entries are known answers from outside this project (the CRC-32 check
value of "123456789", the COBS examples of Cheshire & Baker and Wikipedia); the rest pins
today's wire format so any change to it shows up as a diff of vectors.json, which must then
come with a PROTOCOL_VERSION bump and a SPEC.md update.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

from protocol import link_catalog as lcat
from protocol import link_channel as lch
from protocol import link_frame as lf

PATH = Path(__file__).with_name("vectors.json")

COBS_KNOWN = [
    ("", "01"),
    ("00", "0101"),
    ("0000", "010101"),
    ("001100", "01021101"),
    ("11220033", "0311220233"),
    ("11223344", "0511223344"),
    ("11000000", "0211010101"),
    (bytes(range(1, 255)).hex(), "ff" + bytes(range(1, 255)).hex()),
    (bytes(range(0, 255)).hex(), "01ff" + bytes(range(1, 255)).hex()),
    (bytes(range(1, 256)).hex(), "ff" + bytes(range(1, 255)).hex() + "02ff"),
    ((bytes(range(2, 256)) + b"\0").hex(), "ff" + bytes(range(2, 256)).hex() + "0101"),
    ((bytes(range(3, 256)) + b"\0\1").hex(), "fe" + bytes(range(3, 256)).hex() + "0201"),
]

CRC_KNOWN = [("313233343536373839", 0xCBF43926), ("", 0), ("00", 0xD202EF8D)]

MESSAGES: list[tuple[int, tuple[int, ...]]] = [
    (lcat.MSG_COIN_INHIBIT, (1,)),
    (lcat.MSG_BUZZER, (lcat.BUZZER_ALARM, 0)),
    (lcat.MSG_LED, (lcat.LED_CARD_GUIDE, lcat.LED_BLINK_SLOW)),
    (lcat.MSG_SERVICE_MODE, (1,)),
    (lcat.MSG_STATUS_REQUEST, ()),
    (lcat.MSG_COIN, (500, 4, 7)),
    (lcat.MSG_COIN_REJECTED, (lcat.COIN_REJECT_COUNT, 9, 8)),
    (lcat.MSG_TRAY, (lcat.TRAY_CERTIFICATE, 1)),
    (lcat.MSG_DOOR, (1,)),
    (lcat.MSG_STATUS, (1, 0, 1, 0, 3, 2, 0, 1, 0, 1, 65535, 86400, 0xDEADBEEF)),
]

SESSION = lch.session_tag(0x11223344, 0xA1B2C3D4)


def frames() -> list[dict[str, Any]]:
    specs = [
        (
            "data coin",
            lf.Frame(lf.KIND_DATA, SESSION, 5, 3, lcat.MSG_COIN, b"\xf4\x01\x04\x07\x00"),
        ),
        ("data empty body", lf.Frame(lf.KIND_DATA, SESSION, 63, 0, lcat.MSG_STATUS_REQUEST)),
        ("ack", lf.Frame(lf.KIND_ACK, SESSION, 0, 6)),
        ("nack holding 2 frames", lf.Frame(lf.KIND_NACK, SESSION, 0, 2, body=b"\x05")),
        ("data max payload", lf.Frame(lf.KIND_DATA, SESSION, 1, 1, 0x7F, bytes(200))),
        ("refuse", lf.Frame(lf.KIND_REFUSE, body=lch.pack_refuse(lch.REFUSE_ROLE, 1, 7, "fw"))),
    ]
    out = []
    for what, f in specs:
        out.append(
            {
                "what": what,
                "frame": {
                    "kind": f.kind,
                    "session": f.session,
                    "seq": f.seq,
                    "ack": f.ack,
                    "msg_id": f.msg_id,
                    "body": f.body.hex(),
                },
                "wire": lf.encode_frame(f).hex(),
            }
        )
    return out


def _with_crc(raw: bytes, seed: int = 0) -> bytes:
    return raw + struct.pack("<I", lf.crc32(raw, seed))


def rejects() -> list[dict[str, Any]]:
    seed = lf.session_seed(SESSION)
    good = lf.pack_frame(
        lf.Frame(lf.KIND_DATA, SESSION, 5, 3, lcat.MSG_COIN, b"\xf4\x01\x04\x07\x00")
    )
    flipped = bytearray(good)
    flipped[3] ^= 0x10
    hello = lch.Hello(lch.ROLE_DEVICE, lcat.CATALOG_HASH, 1234, 0, 0, "fw").pack()
    # what a version 1 peer sends: version 1, kind, 4-byte session 0, seq, ack, plain CRC
    v1_hello = _with_crc(b"\x01\x04" + bytes(6) + hello)
    wrong_kind = _with_crc(bytes((lf.PROTOCOL_VERSION, 9)) + hello)
    control_too_long = _with_crc(bytes((lf.PROTOCOL_VERSION, lf.KIND_REFUSE)) + bytes(201))
    ack_with_body = _with_crc(bytes(((lf.KIND_ACK << 6), 1, 0)), seed)
    nack_without_map = _with_crc(bytes(((lf.KIND_NACK << 6), 1)), seed)
    data_no_id = _with_crc(good[:2], seed)
    reserved_ack_bits = _with_crc(bytes(((lf.KIND_ACK << 6), 0x41)), seed)
    kind_zero = _with_crc(bytes((5, 3, lcat.MSG_COIN)), seed)
    other_session = _with_crc(good[:-4], lf.session_seed(SESSION ^ 1))
    cases = [
        ("empty", b"", "empty"),
        ("bit flip", lf.cobs_encode(bytes(flipped)), "crc"),
        ("truncated", lf.cobs_encode(good[:-1]), "crc"),
        ("too short", lf.cobs_encode(good[:5]), "short"),
        ("cobs code past end", b"\x09\x01\x02", "cobs"),
        ("cobs zero inside", b"\x03\x01\x00\x02", "cobs"),
        ("too long", lf.cobs_encode(bytes(range(1, 250)) * 2), "too_long"),
        ("version 1 hello", lf.cobs_encode(v1_hello), "version"),
        ("unknown control kind", lf.cobs_encode(wrong_kind), "kind"),
        ("control body over 200 bytes", lf.cobs_encode(control_too_long), "length"),
        ("ack with body", lf.cobs_encode(ack_with_body), "length"),
        ("nack without map", lf.cobs_encode(nack_without_map), "length"),
        ("data without id", lf.cobs_encode(data_no_id), "short"),
        ("ack reserved bits", lf.cobs_encode(reserved_ack_bits), "header"),
        ("session frame kind 0", lf.cobs_encode(kind_zero), "header"),
        ("another session", lf.cobs_encode(other_session), "crc"),
    ]
    return [{"what": w, "session": SESSION, "encoded": e.hex(), "reason": r} for w, e, r in cases]


def streams() -> list[dict[str, Any]]:
    a = lf.encode_frame(lf.Frame(lf.KIND_ACK, SESSION, 0, 1))
    b = lf.encode_frame(lf.Frame(lf.KIND_DATA, SESSION, 0, 1, lcat.MSG_DOOR, b"\x01"))
    corrupt = bytearray(b)
    corrupt[4] ^= 0xFF
    if 0 in corrupt[1:-1]:
        corrupt[4] ^= 0x01
    cases = [
        ("two frames", a + b, 1, ["ok", "ok"]),
        ("extra delimiters between", b"\x00\x00" + a + b"\x00" + b, 3, ["ok", "ok"]),
        ("garbage then frame", b"\x13\x37\xff" + a, 2, ["cobs", "ok"]),
        ("corrupt middle frame", a + bytes(corrupt) + a, 5, ["ok", "crc", "ok"]),
        ("noise glued to the end of a frame", a[:-1] + b"\x42\x00" + a, 4, ["cobs", "ok"]),
        ("endless garbage", bytes([0x55]) * 600 + a, 64, ["too_long", "ok"]),
    ]
    return [
        {"what": w, "session": SESSION, "input": d.hex(), "chunk": c, "results": r}
        for w, d, c, r in cases
    ]


def handshakes() -> list[dict[str, Any]]:
    out = []
    dev_epoch, host_epoch = 0xA1B2C3D4, 0x11223344
    dev = lch.Channel(
        lch.ROLE_DEVICE,
        "fw-0.1.0",
        0,
        reset_cause=lch.RESET_WATCHDOG,
        catalog_hash=lcat.CATALOG_HASH,
        rand32=lambda: dev_epoch,
    )
    dev.tick(0)
    hello = dev.outgoing()
    host_hello = lf.encode_frame(
        lf.Frame(
            lf.KIND_HELLO,
            body=lch.Hello(
                lch.ROLE_HOST,
                lcat.CATALOG_HASH,
                host_epoch,
                dev_epoch,
                lch.RESET_HOST,
                "host-0.1.0",
            ).pack(),
        )
    )
    events = dev.receive(host_hello, 1)
    out.append(
        {
            "what": "device after watchdog reset meets the host",
            "role": lch.ROLE_DEVICE,
            "fw": "fw-0.1.0",
            "reset_cause": lch.RESET_WATCHDOG,
            "epochs": [dev_epoch],
            "hello": hello.hex(),
            "peer_hello": host_hello.hex(),
            "events": [type(e).__name__ for e in events],
            "reply": dev.outgoing().hex(),
        }
    )
    host = lch.Channel(
        lch.ROLE_HOST, "host-0.1.0", 0, catalog_hash=lcat.CATALOG_HASH, rand32=lambda: host_epoch
    )
    host.tick(0)
    hello = host.outgoing()
    bad_hello = lf.encode_frame(
        lf.Frame(
            lf.KIND_HELLO,
            body=lch.Hello(
                lch.ROLE_DEVICE, lcat.CATALOG_HASH ^ 1, dev_epoch, 0, 0, "fw-old"
            ).pack(),
        )
    )
    events = host.receive(bad_hello, 1)
    out.append(
        {
            "what": "host refuses a device built from another catalog",
            "role": lch.ROLE_HOST,
            "fw": "host-0.1.0",
            "reset_cause": lch.RESET_POWER_ON,
            "epochs": [host_epoch],
            "hello": hello.hex(),
            "peer_hello": bad_hello.hex(),
            "events": [type(e).__name__ for e in events],
            "reply": host.outgoing().hex(),
        }
    )
    return out


def build() -> dict[str, Any]:
    msgs = []
    for mid, values in MESSAGES:
        msgs.append(
            {
                "id": mid,
                "name": lcat.message_name(mid),
                "values": list(values),
                "body": lcat.encode_message(mid, values).hex(),
            }
        )
    bad_messages = [
        {"what": "unknown id", "id": 0x7E, "body": ""},
        {"what": "coin body too short", "id": lcat.MSG_COIN, "body": "f401"},
        {"what": "tray body too long", "id": lcat.MSG_TRAY, "body": "000100"},
        {"what": "coin value out of range", "id": lcat.MSG_COIN, "values": [70000, 1, 1]},
        {"what": "led missing field", "id": lcat.MSG_LED, "values": [1]},
    ]
    return {
        "protocol_version": lf.PROTOCOL_VERSION,
        "catalog_hash": lcat.CATALOG_HASH,
        "crc32": [{"data": d, "crc": c} for d, c in CRC_KNOWN],
        "cobs": [{"decoded": d, "encoded": e} for d, e in COBS_KNOWN],
        "messages": msgs,
        "bad_messages": bad_messages,
        "frames": frames(),
        "rejects": rejects(),
        "streams": streams(),
        "handshakes": handshakes(),
    }


def render() -> str:
    return json.dumps(build(), indent=1) + "\n"


def main() -> int:
    PATH.write_text(render())
    print("wrote", PATH.name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
