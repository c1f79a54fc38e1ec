"""The blocking ccTalk transport: one request at a time over a serial port, with retries.

Only idempotent requests are retried. A dispense (167) is sent once: if its reply is lost the
hopper driver compares the hopper's event counter instead of paying twice.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from drivers.coin.cctalk import ACK, BUSY, NAK, CcTalkLink, Checksum, Frame
from drivers.coin.errors import Busy, Nak, NoReply
from drivers.coin.serial_port import PARITY_NONE, open_port


class CcTalkPort:
    def __init__(
        self,
        port: Any,
        *,
        checksum: Checksum = Checksum.SUM8,
        reply_timeout_s: float = 0.1,
        retries: int = 3,
    ) -> None:
        self._port = port
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
            for _ in range(attempts):
                frame = self._exchange(dest, header, data, wait)
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

    def _exchange(self, dest: int, header: int, data: bytes, wait: float) -> Frame | None:
        self._port.reset_input_buffer()
        self._port.write(self._link.request(dest, header, data))
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            chunk = self._port.read(self._port.in_waiting or 1)
            if chunk:
                frame = self._link.feed(chunk, time.monotonic())
                if frame is not None:
                    return frame
                # Each byte received extends the wait a little: long replies at 9600 baud.
                deadline = max(deadline, time.monotonic() + 0.02)
        return None
