"""Start a center in a child process and wait for its URL (tests, the benchmark, demos)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import TracebackType

_URL = re.compile(r"listening on (https://\S+)")


class RunningCenter:
    def __init__(self, state: Path, *args: str, workers: int = 1, db: str | None = None) -> None:
        self.state = state
        cmd = [sys.executable, "-c", "import sys; from host.cli import main; "
               "sys.exit(main(sys.argv[1:]))", "center", "--state", str(state), "--port", "0",
               "--workers", str(workers), *args]  # fmt: skip
        if db:
            cmd += ["--db", db]
        self.cmd = cmd
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.output: list[str] = []

    def start(self, timeout: float = 120) -> RunningCenter:
        self.proc = subprocess.Popen(
            self.cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group: the workers go down with it
        )
        found = threading.Event()

        def pump() -> None:
            assert self.proc is not None and self.proc.stdout is not None
            for line in self.proc.stdout:
                self.output.append(line)
                m = _URL.search(line)
                if m and not found.is_set():
                    self.url = m.group(1)
                    found.set()
            found.set()

        threading.Thread(target=pump, daemon=True).start()
        found.wait(timeout)
        if not self.url:
            self.stop()
            raise RuntimeError("center did not start:\n" + "".join(self.output[-30:]))
        return self

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(15)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        self.proc = None

    def __enter__(self) -> RunningCenter:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
