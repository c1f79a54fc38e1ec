"""FaultLine: a fault-injecting serial cable between the host and a (simulated) device.

It opens the device's port raw and offers a new pty for the host. Bytes are forwarded frame
by frame (a frame ends at 0x00, the link's delimiter; the delimiters in front of it belong
to it) so faults hit whole frames the way line noise does: a frame can be dropped, get a bit
flipped, be preceded by garbage (noise on the idle line before it), or be delayed; `cut()`
drops everything both ways until `restore()`. With `baud` set, each direction carries no
more than a UART at that rate (10 bits a byte): a frame arrives when its last byte would
have. Faults are random with a seed, so a failing run can be replayed.
"""

from __future__ import annotations

import os
import random
import selectors
import tempfile
import threading
import time
import tty
from pathlib import Path


class Faults:
    def __init__(
        self,
        drop: float = 0.0,
        flip: float = 0.0,
        garbage: float = 0.0,
        delay_s: float = 0.0,
        baud: int = 0,
    ) -> None:
        self.drop = drop
        self.flip = flip
        self.garbage = garbage
        self.delay_s = delay_s
        self.baud = baud  # 0: as fast as the ptys go


class _Lane:
    """One direction of the line: where bytes go, the frame being assembled, and frames
    waiting out their delay."""

    def __init__(self, dest: int) -> None:
        self.dest = dest
        self.partial = bytearray()
        self.queue: list[tuple[float, bytes]] = []
        self.busy_until = 0.0  # when the paced line has sent everything queued so far


class FaultLine:
    def __init__(self, device_port: str, faults: Faults | None = None, seed: int = 1) -> None:
        self.device_port = device_port
        self.faults = faults or Faults()
        self.rng = random.Random(seed)
        self.stats = {"frames": 0, "dropped": 0, "flipped": 0, "garbage": 0, "cut_bytes": 0}
        self._cut = False
        self._stop = False
        self._tmp = tempfile.TemporaryDirectory(prefix="kofu-faultline-")
        self.port = str(Path(self._tmp.name) / "ttyFAULT")
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> FaultLine:
        self._dev = os.open(self.device_port, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(self._dev)
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        os.symlink(os.ttyname(slave), self.port)
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._run, daemon=True, name="faultline")
        self._thread.start()
        return self

    def __enter__(self) -> FaultLine:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop = True
        os.write(self._wake_w, b"x")
        if self._thread is not None:
            self._thread.join(timeout=2)
        for fd in (self._dev, self._master, self._slave, self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass
        self._tmp.cleanup()

    def cut(self) -> None:
        """Cut the line: nothing passes either way."""
        self._cut = True

    def restore(self) -> None:
        self._cut = False

    def _mangle(self, frame: bytes) -> bytes:
        f = self.faults
        with self._lock:
            self.stats["frames"] += 1
            if self.rng.random() < f.drop:
                self.stats["dropped"] += 1
                return b""
            data = bytearray(frame)
            if len(data) > 1 and self.rng.random() < f.flip:
                i = self.rng.randrange(len(data) - 1)  # keep the delimiter: resync is tested
                data[i] ^= 1 << self.rng.randrange(8)
                self.stats["flipped"] += 1
            if self.rng.random() < f.garbage:
                noise = bytes(self.rng.randrange(256) for _ in range(self.rng.randrange(1, 12)))
                data[:0] = noise
                self.stats["garbage"] += 1
            return bytes(data)

    def _queue(self, lane: _Lane, frame: bytes) -> None:
        now = time.monotonic()
        baud = self.faults.baud
        if baud:
            # the sender's UART is busy for the whole frame, whatever becomes of it on the way
            start = max(now, lane.busy_until)
            lane.busy_until = start + len(frame) * 10 / baud
            now = lane.busy_until
        out = self._mangle(frame)
        if out:
            lane.queue.append((now + self.faults.delay_s, out))

    def _run(self) -> None:
        lanes = {self._dev: _Lane(self._master), self._master: _Lane(self._dev)}
        sel = selectors.DefaultSelector()
        sel.register(self._wake_r, selectors.EVENT_READ)
        sel.register(self._dev, selectors.EVENT_READ)
        sel.register(self._master, selectors.EVENT_READ)
        while not self._stop:
            now = time.monotonic()
            due = [lane.queue[0][0] for lane in lanes.values() if lane.queue]
            timeout = max(0.0, min(due) - now) if due else 0.5
            for key, _ in sel.select(timeout):
                fd = key.fd
                if fd == self._wake_r:
                    os.read(fd, 64)
                    continue
                try:
                    data = os.read(fd, 65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    time.sleep(0.01)  # the other end is not open (EIO) yet
                    continue
                lane = lanes[fd]
                partial = lane.partial
                if self._cut:
                    self.stats["cut_bytes"] += len(data)
                    partial.clear()
                    continue
                partial.extend(data)
                while True:
                    body = 0
                    while body < len(partial) and partial[body] == 0:
                        body += 1
                    end = partial.find(b"\x00", body)
                    if end < 0:
                        break
                    frame = bytes(partial[: end + 1])
                    del partial[: end + 1]
                    self._queue(lane, frame)
            now = time.monotonic()
            for lane in lanes.values():
                while lane.queue and lane.queue[0][0] <= now:
                    _, out = lane.queue.pop(0)
                    try:
                        os.write(lane.dest, out)
                    except OSError:
                        pass  # the far end is gone or full: the bytes are lost
        sel.close()
