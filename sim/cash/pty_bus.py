"""Pseudo-terminals for the simulated devices: the host opens the slave path like a real port.

A pty carries bytes, not bits: baud rate and parity set on it are accepted and ignored, so
the 8E1 framing of ID-003 cannot be enforced here (only on a real bench).
"""

from __future__ import annotations

import os
import pty
import termios
import tty


class Pty:
    def __init__(self) -> None:
        self.master, self._slave = pty.openpty()
        # Raw mode: no echo, no CR/LF translation by the line discipline — the bus model
        # decides what is echoed. The slave stays open here so the master never sees EIO
        # between host connections.
        tty.setraw(self._slave, termios.TCSANOW)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self._slave)

    def read(self) -> bytes:
        try:
            return os.read(self.master, 4096)
        except (BlockingIOError, OSError):
            return b""

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                n = os.write(self.master, view)
            except BlockingIOError:
                continue
            view = view[n:]

    def close(self) -> None:
        for fd in (self.master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass
