"""One simulated wire: a pty and the thread that answers on it.

Each device of the cash simulator gets its own, as each has its own cable on a kiosk: a host
that stops reading one pty stalls nothing else. Replies go out without blocking; what the pty
cannot take is lost and counted (`dropped`), as on a wire nobody reads.
"""

from __future__ import annotations

import os
import selectors
import threading
import time
from collections.abc import Callable

from sim.cash.pty_bus import Pty

# The device's answer to bytes from the host, given the instant they arrived.
Answer = Callable[[bytes, float], bytes | None]


class DeviceWire:
    def __init__(
        self, name: str, answer: Answer, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.name = name
        self.pty = Pty()
        self.path = self.pty.path
        self._answer = answer
        self._clock = clock
        self._wake_r, self._wake_w = os.pipe()
        self._thread: threading.Thread | None = None

    @property
    def dropped(self) -> int:
        """Bytes towards the host the pty could not take (the host was not reading)."""
        return self.pty.dropped

    @property
    def native_id(self) -> int | None:
        """The serving thread's kernel id (its CPU time is in /proc/self/task/ID/stat)."""
        return self._thread.native_id if self._thread is not None else None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._serve, name=f"cash-sim-{self.name}",
                                        daemon=True)  # fmt: skip
        self._thread.start()

    def stop(self) -> None:
        os.write(self._wake_w, b"x")
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.pty.close()
        os.close(self._wake_r)
        os.close(self._wake_w)

    def send(self, data: bytes) -> None:
        """Unsolicited bytes towards the host (line noise); dropped like any reply when full."""
        self.pty.write(data)

    def _serve(self) -> None:
        sel = selectors.DefaultSelector()
        sel.register(self.pty.master, selectors.EVENT_READ, "data")
        sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        try:
            while True:
                for key, _ in sel.select():
                    if key.data == "wake":
                        return
                    data = self.pty.read()
                    if data:
                        reply = self._answer(data, self._clock())
                        if reply:
                            self.pty.write(reply)
        finally:
            sel.close()
