"""The coprocessor's application messages: the catalog the link carries (COIN, BUZZER, LED,
TRAY, DOOR, STATUS ...), their field ranges, and the catalog hash both ends compare in HELLO.

The link modules (link_frame, link_channel) never import this one: they carry (message id,
body) pairs for any catalog. ONE source for both runtimes, like them: no dataclasses, enum or
typing at run time, no f-strings, only `struct`. protocol/SPEC.md section 4 is normative.
"""

import struct

# see link_channel: follow our own name, so the board imports the flat copy
if __name__ != "link_catalog":
    from protocol.link_frame import crc32  # type: ignore[import-not-found,unused-ignore]
else:
    from link_frame import crc32  # type: ignore[import-not-found,no-redef,unused-ignore]

# --- message catalog (see SPEC.md section 4) -------------------------------------------
# (id, name, direction, struct format of the body, field names)
H2D = "h2d"
D2H = "d2h"
CATALOG = (
    (0x01, "COIN_INHIBIT", H2D, "<B", ("inhibit",)),
    (0x02, "BUZZER", H2D, "<BB", ("pattern", "seconds")),
    (0x03, "LED", H2D, "<BB", ("led", "mode")),
    (0x04, "SERVICE_MODE", H2D, "<B", ("out_of_service",)),
    (0x05, "STATUS_REQUEST", H2D, "<", ()),
    (0x41, "COIN", D2H, "<HBH", ("value_yen", "pulses", "counter")),
    (0x42, "COIN_REJECTED", D2H, "<BBH", ("reason", "pulses", "counter")),
    (0x43, "TRAY", D2H, "<BB", ("tray", "present")),
    (0x44, "DOOR", D2H, "<B", ("open",)),
    (
        0x45,
        "STATUS",
        D2H,
        "<BBBBBBBBBBHII",
        (
            "inhibit",
            "door_open",
            "cert_tray",
            "change_tray",
            "buzzer",
            "led_card",
            "led_tray",
            "led_change",
            "out_of_service",
            "reset_cause",
            "coin_counter",
            "uptime_s",
            "boot_id",
        ),
    ),
)

MSG_COIN_INHIBIT = 0x01
MSG_BUZZER = 0x02
MSG_LED = 0x03
MSG_SERVICE_MODE = 0x04
MSG_STATUS_REQUEST = 0x05
MSG_COIN = 0x41
MSG_COIN_REJECTED = 0x42
MSG_TRAY = 0x43
MSG_DOOR = 0x44
MSG_STATUS = 0x45

BUZZER_OFF = 0
BUZZER_CHIME = 1
BUZZER_REMINDER = 2
BUZZER_ALARM = 3
BUZZER_ERROR = 4

LED_CARD_GUIDE = 0
LED_TRAY_GUIDE = 1
LED_CHANGE_GUIDE = 2

LED_OFF = 0
LED_ON = 1
LED_BLINK_SLOW = 2
LED_BLINK_FAST = 3

TRAY_CERTIFICATE = 0
TRAY_CHANGE = 1

COIN_REJECT_COUNT = 1  # pulse count matches no coin
COIN_REJECT_WIDTH = 2  # a pulse shorter or longer than the acceptor's spec

_BY_ID: dict[int, tuple[int, str, str, str, tuple[str, ...]]] = {}
for _entry in CATALOG:
    _BY_ID[_entry[0]] = _entry


def _catalog_text() -> str:
    parts = []
    for mid, name, direction, fmt, fields in CATALOG:
        parts.append("%d:%s:%s:%s:%s" % (mid, name, direction, fmt, ",".join(fields)))
    return ";".join(parts)


CATALOG_HASH = crc32(_catalog_text().encode())


_FIELD_MAX = {"B": 0xFF, "H": 0xFFFF, "I": 0xFFFFFFFF}


class MessageError(Exception):
    """A message id or body that does not match the catalog."""


def message_name(msg_id: int) -> str:
    entry = _BY_ID.get(msg_id)
    return entry[1] if entry is not None else "UNKNOWN_%d" % msg_id


def encode_message(msg_id: int, values: "tuple[int, ...]") -> bytes:
    entry = _BY_ID.get(msg_id)
    if entry is None:
        raise MessageError("unknown message id %d" % msg_id)
    if len(values) != len(entry[4]):
        raise MessageError("%s takes %d fields" % (entry[1], len(entry[4])))
    fmt = entry[3]
    for i in range(len(values)):
        v = values[i]
        # MicroPython's struct silently truncates, so ranges are checked here for both runtimes
        if not isinstance(v, int) or v < 0 or v > _FIELD_MAX[fmt[i + 1]]:
            raise MessageError("%s.%s out of range" % (entry[1], entry[4][i]))
    return struct.pack(fmt, *values)


def decode_message(msg_id: int, body: bytes) -> "tuple[int, ...]":
    entry = _BY_ID.get(msg_id)
    if entry is None:
        raise MessageError("unknown message id %d" % msg_id)
    if len(body) != struct.calcsize(entry[3]):
        raise MessageError("%s: body of %d bytes" % (entry[1], len(body)))
    return tuple(struct.unpack(entry[3], body))
