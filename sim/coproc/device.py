"""SimCoproc: the simulated coprocessor board as seen from outside.

It runs the unmodified firmware in a child process (sim.coproc.runner), relays its UART to a
pseudo-terminal whose path (a stable symlink, like /dev/serial/by-id) the host driver opens,
restarts the chip when its watchdog bites, and offers the control API tests and the sim
control panel use: coins, trays, door, stalls, cable pulls; LED, buzzer and inhibit states.
"""

from __future__ import annotations

import importlib.util
import json
import os
import selectors
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tty
from pathlib import Path
from types import ModuleType
from typing import Any

from sim.coproc.machine_shim import WATCHDOG_EXIT

ROOT = Path(__file__).resolve().parents[2]


def load_board() -> ModuleType:
    """The firmware's pin map, read from the firmware itself."""
    spec = importlib.util.spec_from_file_location("kofu_fw_board", ROOT / "firmware" / "board.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class SimError(RuntimeError):
    pass


class SimCoproc:
    def __init__(self, workdir: str | Path | None = None) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="kofu-coproc-")
            workdir = self._tmp.name
        self.workdir = Path(workdir)
        self.port = str(self.workdir / "ttyCOPROC")  # stable name, like /dev/serial/by-id/...
        self.board = load_board()
        # the outside world persists across chip resets: door closed, trays empty
        self.levels: dict[int, int] = {
            self.board.DOOR: 1 - self.board.DOOR_OPEN,
            self.board.TRAY_CERT: 1 - self.board.TRAY_PRESENT,
            self.board.TRAY_CHANGE: 1 - self.board.TRAY_PRESENT,
        }
        self.watchdog_resets = 0
        self.boots = 0
        self._lock = threading.RLock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None
        self._control_file: Any = None
        self._link: socket.socket | None = None  # our end of the firmware's UART
        self._master: int | None = None
        self._slave: int | None = None
        self._req_id = 0
        self._stopping = False
        self._wake_r, self._wake_w = os.pipe()
        self._relay: threading.Thread | None = None
        self._supervisor: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> SimCoproc:
        self.plug()
        self._boot("power_on")
        self._relay = threading.Thread(target=self._relay_loop, daemon=True, name="coproc-relay")
        self._relay.start()
        self._supervisor = threading.Thread(
            target=self._supervise, daemon=True, name="coproc-supervisor"
        )
        self._supervisor.start()
        return self

    def __enter__(self) -> SimCoproc:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stopping = True
        self._kill_chip()
        os.write(self._wake_w, b"x")
        if self._relay is not None:
            self._relay.join(timeout=2)
        if self._supervisor is not None:
            self._supervisor.join(timeout=2)
        self.unplug()
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass
        if self._tmp is not None:
            self._tmp.cleanup()

    def _boot(self, cause: str) -> None:
        link_parent, link_child = socket.socketpair()
        ctl_parent, ctl_child = socket.socketpair()
        env = dict(os.environ)
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sim.coproc.runner",
                "--link-fd",
                str(link_child.fileno()),
                "--control-fd",
                str(ctl_child.fileno()),
                "--reset-cause",
                cause,
                "--inputs",
                json.dumps(self.levels),
            ],
            pass_fds=(link_child.fileno(), ctl_child.fileno()),
            env=env,
            cwd=str(ROOT),
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C in a terminal stops the simulator, not the chip
        )
        link_child.close()
        ctl_child.close()
        link_parent.setblocking(False)
        with self._lock:
            old = self._link
            self._proc = proc
            self._link = link_parent
            self._control = ctl_parent
            self._control_file = ctl_parent.makefile("rwb", buffering=0)
            self.boots += 1
        if old is not None:
            old.close()
        os.write(self._wake_w, b"x")

    def _kill_chip(self) -> None:
        with self._lock:
            proc = self._proc
            self._proc = None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)

    def _supervise(self) -> None:
        while not self._stopping:
            with self._lock:
                proc = self._proc
            if proc is None:
                time.sleep(0.05)
                continue
            code = proc.wait()
            if self._stopping:
                return
            with self._lock:
                if self._proc is not proc:
                    continue  # replaced by power_cycle()
            if code == WATCHDOG_EXIT:
                self.watchdog_resets += 1
                self._boot("watchdog")
            else:
                self._boot("power_on")

    def power_cycle(self) -> None:
        with self._lock:
            self._kill_chip()
            self._boot("power_on")

    # -- the cable ------------------------------------------------------------------------
    def plug(self) -> None:
        """Create the serial device the host opens (a new pty behind the stable name)."""
        with self._lock:
            if self._master is not None:
                return
            master, slave = os.openpty()
            tty.setraw(slave)
            os.set_blocking(master, False)
            self._master, self._slave = master, slave
            tmp_link = self.port + ".new"
            if os.path.lexists(tmp_link):
                os.unlink(tmp_link)
            os.symlink(os.ttyname(slave), tmp_link)
            os.replace(tmp_link, self.port)
        os.write(self._wake_w, b"x")

    def unplug(self) -> None:
        """Pull the cable: the device node disappears and the host's open port fails."""
        with self._lock:
            master, slave = self._master, self._slave
            self._master = self._slave = None
            if os.path.lexists(self.port):
                os.unlink(self.port)
        for fd in (master, slave):
            if fd is not None:
                os.close(fd)
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass

    def _relay_loop(self) -> None:
        while not self._stopping:
            with self._lock:
                master, link = self._master, self._link
            sel = selectors.DefaultSelector()
            try:
                sel.register(self._wake_r, selectors.EVENT_READ, "wake")
                if master is not None:
                    sel.register(master, selectors.EVENT_READ, "pty")
                if link is not None:
                    sel.register(link, selectors.EVENT_READ, "chip")
                ready = sel.select(timeout=1.0)
            except (OSError, ValueError):
                ready = []  # a descriptor was swapped or closed under us: look again
                time.sleep(0.01)
            finally:
                sel.close()
            for key, _ in ready:
                try:
                    if key.data == "wake":
                        os.read(self._wake_r, 64)
                    elif key.data == "pty" and master is not None:
                        data = os.read(master, 65536)
                        if link is not None:
                            try:
                                link.send(data)
                            except (BlockingIOError, OSError):
                                pass  # the chip's rx buffer is full: bytes are lost
                    elif key.data == "chip" and link is not None:
                        data = link.recv(65536)
                        if master is not None and data:
                            try:
                                os.write(master, data)
                            except OSError:
                                pass  # nobody reading, or unplugged: bytes are lost
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    time.sleep(0.01)  # pty without a reader (EIO) or a socket being swapped

    # -- control API ----------------------------------------------------------------------
    def _call(self, op: str, **args: Any) -> dict[str, Any]:
        deadline = time.monotonic() + 5
        while True:
            with self._lock:
                fh = self._control_file
                self._req_id += 1
                req_id = self._req_id
                try:
                    fh.write((json.dumps({"op": op, "id": req_id, **args}) + "\n").encode())
                    line = fh.readline()
                except OSError:
                    line = b""
            if line:
                reply: dict[str, Any] = json.loads(line)
                if reply.get("error"):
                    raise SimError(reply["error"])
                return reply
            if time.monotonic() > deadline:
                raise SimError("the simulated chip does not answer")
            time.sleep(0.05)  # the chip is rebooting

    def _set(self, pin: int, level: int) -> None:
        self.levels[pin] = level
        self._call("input", pin=pin, level=level)

    def insert_coin(self, yen: int) -> None:
        """A coin passes the acceptor: it pulses as programmed for that value."""
        self._call("coin", yen=yen)

    def pulse_train(
        self, count: int, width_ms: float = 30, gap_ms: float = 30, realtime: bool = False
    ) -> None:
        """Raw pulses on the coin line, e.g. a count no coin has, or too-short pulses.
        realtime=True drives the line live (so a stuck-long pulse is seen by polling)."""
        self._call(
            "pulses", count=count, width_ms=width_ms, gap_ms=gap_ms, realtime=realtime
        )

    def set_tray(self, tray: str, present: bool) -> None:
        pin = {"certificate": self.board.TRAY_CERT, "change": self.board.TRAY_CHANGE}[tray]
        active = self.board.TRAY_PRESENT
        self._set(pin, active if present else 1 - active)

    def set_door(self, open: bool) -> None:
        active = self.board.DOOR_OPEN
        self._set(self.board.DOOR, active if open else 1 - active)

    def stall(self, seconds: float) -> None:
        """Hang the firmware's main loop, as a bug or a lock-up would."""
        self._call("stall", seconds=seconds)

    def state(self) -> dict[str, Any]:
        """Outputs as observed on the pins: inhibit, LED modes, buzzer pattern."""
        st = self._call("state")
        st.pop("id", None)
        st["watchdog_resets"] = self.watchdog_resets
        st["boots"] = self.boots
        return st

    def link_info(self) -> dict[str, Any]:
        """The firmware's view of the link (up, epochs, counters), for diagnostics."""
        channels = self._call("link")["channels"]
        if not channels:
            raise SimError("the firmware has no link channel yet")
        info: dict[str, Any] = channels[0]
        return info

    def wait_state(self, predicate: Any, timeout: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        st = self.state()
        while not predicate(st):
            if time.monotonic() > deadline:
                raise SimError(f"state never matched; last: {st!r}")
            time.sleep(0.05)
            st = self.state()
        return st
