"""The vsmartcard vpcd wire protocol, sans-IO.

pcscd's vpcd driver listens on TCP; the virtual card connects as a client. Every message
either way is a 2-byte big-endian length and a payload. From vpcd, a 1-byte payload is a
control message (power off/on, reset, get ATR); anything longer is a command APDU. The card
answers an APDU or an ATR request with one framed message; power and reset get no answer.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Control(enum.IntEnum):
    POWER_OFF = 0
    POWER_ON = 1
    RESET = 2
    GET_ATR = 4


@dataclass(frozen=True)
class ControlMessage:
    control: Control | int


@dataclass(frozen=True)
class ApduMessage:
    apdu: bytes


Message = ControlMessage | ApduMessage


def frame(payload: bytes) -> bytes:
    if len(payload) > 0xFFFF:
        raise ValueError("vpcd payload too long")
    return len(payload).to_bytes(2, "big") + payload


class VpcdDecoder:
    """Feed bytes from the socket; get whole messages back."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[Message]:
        self._buf += data
        out: list[Message] = []
        while len(self._buf) >= 2:
            n = int.from_bytes(self._buf[:2], "big")
            if len(self._buf) < 2 + n:
                break
            payload = bytes(self._buf[2 : 2 + n])
            del self._buf[: 2 + n]
            if n == 1:
                value = payload[0]
                out.append(
                    ControlMessage(Control(value) if value in Control._value2member_map_ else value)
                )
            else:
                out.append(ApduMessage(payload))
        return out
