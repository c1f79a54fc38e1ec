"""Pseudo-terminals for the simulated devices: the host opens the slave path like a real port.

A pty carries bytes, not bits: baud rate and parity set on it are accepted and ignored, so
the 8E1 framing of ID-003 cannot be enforced here (only on a real bench). Writes never block:
when the host does not read, the pty fills and further output is dropped (and counted).
"""

from __future__ import annotations

import os
import pty
import termios
import threading
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
        self.dropped = 0
        self._write_lock = threading.Lock()  # the serving thread and `inject` both write

    def read(self) -> bytes:
        try:
            return os.read(self.master, 4096)
        except (BlockingIOError, OSError):
            return b""

    def write(self, data: bytes) -> int:
        """Write what the pty takes now and drop the rest, counted in `dropped`: a wire loses
        what nobody reads, and waiting for a host that stopped reading would stall the device.
        Returns the bytes written."""
        with self._write_lock:
            try:
                n = os.write(self.master, data) if data else 0
            except OSError:  # BlockingIOError: full; EIO and the like: nobody on the other end
                n = 0
            self.dropped += len(data) - n
        return n

    def close(self) -> None:
        for fd in (self.master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass
