"""The kiosk host (`bench/kiosk_host.py`) as a child process in its own process group: started
on a simulation's config, killed with SIGKILL (nothing runs after it: no cleanup, no flush),
started again the way the kiosk's service manager restarts it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from bench.kiosk_host import READY

_READY = re.compile(re.escape(READY) + r" (http://\S+) token (\S+)")


class HostDidNotStart(RuntimeError):
    """The host process ended, or did not serve its screen in time (its log says why)."""


class HostProcess:
    """One kiosk host after another on the same config, state dir and clock.

    ``clock``: what the simulation's kiosk clock reads now (None: the machine's clock), asked
    at each start so that a restarted host's clock goes on where the simulation's is."""

    def __init__(self, config: Path, clock: Callable[[], datetime | None], log: Path) -> None:
        self.config = config
        self.clock = clock
        self.log = log
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.token = ""
        self.starts = 0

    def start(self, timeout: float = 120.0) -> HostProcess:
        cmd = [sys.executable, "-m", "bench.kiosk_host", "--config", str(self.config)]
        now = self.clock()
        if now is not None:
            cmd += ["--clock", now.isoformat()]
        self.url = self.token = ""
        self.starts += 1
        root = Path(__file__).resolve().parents[1]
        self.proc = subprocess.Popen(
            cmd, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,  # its own group: a kill takes its worker threads too
        )  # fmt: skip
        found = threading.Event()
        threading.Thread(target=self._pump, args=(self.proc, found), daemon=True).start()
        found.wait(timeout)
        if not self.url:
            self.stop()
            raise HostDidNotStart(f"kiosk host did not start (start {self.starts}); see {self.log}")
        return self

    def _pump(self, proc: subprocess.Popen[str], found: threading.Event) -> None:
        assert proc.stdout is not None
        with self.log.open("a", encoding="utf-8") as out:
            out.write(f"--- host start {self.starts} pid {proc.pid}\n")
            for line in proc.stdout:
                out.write(line)
                out.flush()
                m = _READY.search(line)
                if m and not found.is_set():
                    self.url, self.token = m.group(1), m.group(2)
                    found.set()
        found.set()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL to the whole group, as a crash or a pulled plug would end it."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        """An orderly stop (SIGTERM), then SIGKILL if it hangs."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(20)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None
