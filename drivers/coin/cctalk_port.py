"""The blocking ccTalk transport: one request at a time over a serial port, with retries.

Only idempotent requests are retried. A dispense (167) is sent once: if its reply is lost the
hopper driver compares the hopper's event counter instead of paying twice.

Every request is bounded by an absolute deadline taken when it gets the bus: bytes arriving
late may stretch the wait for a reply still coming in, but never past the time a whole
longest frame needs at 9600 baud, so a babbling line cannot hold the bus lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from drivers.coin.cctalk import ACK, BUSY, MAX_FRAME, NAK, CcTalkLink, Checksum, Frame
from drivers.coin.errors import Busy, Nak, NoReply
from drivers.coin.serial_port import PARITY_NONE, open_port

BYTE_TIME_S = 10 / 9600  # start + 8 data + stop bits
LONGEST_REPLY_S = MAX_FRAME * BYTE_TIME_S  # a whole 257-byte frame: 0.27 s
BYTE_GRACE_S = 0.02  # a reply still arriving may take this long per byte


class CcTalkPort:
    def __init__(
        self,
        port: Any,
        *,
        checksum: Checksum = Checksum.SUM8,
        reply_timeout_s: float = 0.1,
        retries: int = 3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._port = port
        self._clock = clock
        self._link = CcTalkLink(checksum)
        self.reply_timeout_s = reply_timeout_s
        self.retries = retries
        self._lock = threading.Lock()  # the bus carries one transaction at a time

    @classmethod
    def open(cls, path: str, **kwargs: Any) -> CcTalkPort:
        return cls(open_port(path, baudrate=9600, parity=PARITY_NONE), **kwargs)

    def close(self) -> None:
        self._port.close()

    @property
    def discarded(self) -> int:
        return self._link.discarded

    def deadline_s(self, *, retry: bool = True, timeout_s: float | None = None) -> float:
        """The longest a request can hold the bus, whatever the line does."""
        wait = self.reply_timeout_s if timeout_s is None else timeout_s
        return (self.retries if retry else 1) * (wait + LONGEST_REPLY_S)

    def request(
        self,
        dest: int,
        header: int,
        data: bytes = b"",
        *,
        retry: bool = True,
        timeout_s: float | None = None,
    ) -> bytes:
        """The reply's data for an ACK-headed reply; :class:`Nak`/:class:`Busy`/:class:`NoReply`."""
        attempts = self.retries if retry else 1
        wait = self.reply_timeout_s if timeout_s is None else timeout_s
        with self._lock:
            end = self._clock() + self.deadline_s(retry=retry, timeout_s=timeout_s)
            for _ in range(attempts):
                if self._clock() >= end:
                    break
                frame = self._exchange(dest, header, data, wait, end)
                if frame is None:
                    continue
                if frame.header == NAK:
                    raise Nak(f"ccTalk device {dest} refused header {header}")
                if frame.header == BUSY:
                    raise Busy(f"ccTalk device {dest} busy for header {header}")
                if frame.header != ACK:
                    continue  # a reply must carry header 0; anything else is noise
                return frame.data
        raise NoReply(f"no reply from ccTalk device {dest} to header {header}")

    def _exchange(
        self, dest: int, header: int, data: bytes, wait: float, end: float
    ) -> Frame | None:
        self._port.reset_input_buffer()
        self._port.write(self._link.request(dest, header, data))
        sent = self._clock()
        hard = min(sent + wait + LONGEST_REPLY_S, end)
        quiet = sent + wait
        while self._clock() < min(quiet, hard):
            chunk = self._port.read(self._port.in_waiting or 1)
            if chunk:
                now = self._clock()
                frame = self._link.feed(chunk, now)
                if frame is not None:
                    return frame
                # Long replies at 9600 baud: a byte received allows a little more, up to `hard`.
                quiet = max(quiet, now + BYTE_GRACE_S)
        return None
