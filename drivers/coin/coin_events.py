"""Sans-IO rules for the ccTalk coin acceptor's credit buffer (header 229).

The buffer holds the last five events, newest first, under an event counter that is 0 only
after power-up/reset and wraps 255 -> 1. These functions decide which buffered events are new,
whether some were lost, and whether the device reset, given the last counter already handled.
"""

from __future__ import annotations

from dataclasses import dataclass

BUFFER_SLOTS = 5

# Error codes (A = 0) worth naming; others are reported by number.
ERROR_CODES: dict[int, str] = {
    0: "null event",
    1: "reject coin",
    2: "inhibited coin",
    3: "multiple window",
    4: "wake-up timeout",
    5: "validation timeout",
    6: "credit sensor timeout",
    7: "sorter opto timeout",
    8: "second close coin",
    9: "accept gate not ready",
    10: "credit sensor not ready",
    11: "sorter not ready",
    12: "reject coin not cleared",
    13: "validation sensor not ready",
    14: "credit sensor blocked",
    15: "sorter opto blocked",
    16: "credit sequence error",
    17: "coin going backwards",
    18: "coin too fast",
    19: "coin too slow",
    20: "coin on string",
    21: "dce opto timeout",
    22: "dce opto not seen",
    23: "credit sensor reached too early",
    24: "reject coin (repeated sequential trip)",
    25: "reject slug",
    26: "reject sensor blocked",
    27: "games overload",
    28: "max coin meter pulses exceeded",
    29: "accept gate open not closed",
    30: "accept gate closed not open",
    40: "external light attack",
    254: "coin return mechanism activated",
    255: "unspecified alarm code",
}

# Codes that mean someone is trying to cheat or the mechanism is unsafe: out of service.
FRAUD_CODES = frozenset({14, 16, 17, 18, 19, 20, 23, 40})


def error_name(code: int) -> str:
    if 128 <= code <= 159:
        return f"inhibited coin {code - 127}"
    return ERROR_CODES.get(code, f"error {code}")


@dataclass(frozen=True)
class BufferedEvent:
    counter: int  # the event counter value this event carried when it happened
    a: int  # coin position (1..16), or 0 for an error
    b: int  # sorter path, or the error code


@dataclass(frozen=True)
class BufferRead:
    new: list[BufferedEvent]  # oldest first
    reset: bool  # the device reset since the last read
    lost: int  # events known to be lost (buffer overrun)


def step(counter: int) -> int:
    return 1 if counter == 255 else counter + 1


def distance(last: int, now: int) -> int:
    """Events between two counter values, honouring the 255 -> 1 wrap (0 is never reused)."""
    if last == 0:
        return now
    if now >= last:
        return now - last
    return (255 - last) + now


def parse_buffer(last: int | None, data: bytes) -> BufferRead:
    if len(data) != 1 + 2 * BUFFER_SLOTS:
        raise ValueError("credit buffer reply must be 11 bytes")
    counter = data[0]
    slots = [(data[1 + 2 * i], data[2 + 2 * i]) for i in range(BUFFER_SLOTS)]
    if last is None:
        return BufferRead([], False, 0)  # first sight: nothing to claim, just synchronise
    reset = counter == 0 and last != 0
    if reset:
        return BufferRead([], True, 0)
    n = distance(last, counter)
    lost = max(0, n - BUFFER_SLOTS)
    take = min(n, BUFFER_SLOTS)
    events: list[BufferedEvent] = []
    c = counter
    for i in range(take):
        a, b = slots[i]
        events.append(BufferedEvent(c, a, b))
        c = 255 if c == 1 else c - 1
    events.reverse()
    return BufferRead(events, reset, lost)


def parse_coin_id(raw: bytes) -> tuple[str, int] | None:
    """``JP100A`` -> ("JP100A", 100); empty or non-yen positions -> None."""
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        return None
    if len(text) != 6 or text[:2] != "JP" or not text[2:5].isdigit():
        return None
    value = int(text[2:5])
    return (text, value) if value > 0 else None
