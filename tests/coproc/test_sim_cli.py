"""`kofu sim` and `kofu sim coproc` start, show the link, and stop cleanly on signals."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def kofu(*args: str) -> subprocess.Popen[str]:
    code = "import sys; from host.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def read_until(proc: subprocess.Popen[str], needle: str, timeout: float = 15) -> str:
    assert proc.stdout is not None
    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen += line
        if needle in line:
            return seen
    proc.kill()
    raise AssertionError(f"{needle!r} never appeared in:\n{seen}")


def test_kofu_sim_shows_link_up_and_exits_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    # `kofu sim` starts the whole kiosk (center, card, cash, printers) before the link line.
    # SIGTERM (systemd's stop) is what tests/e2e stops each of its sims with, checked there.
    proc = kofu("sim", "--state", str(tmp_path), "--port", "0")
    first = read_until(proc, "coproc link UP", timeout=150)
    assert first.startswith("kofu sim: clock ")  # says which clock the kiosk runs by
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert "stopped" in out and "Traceback" not in out


def test_kofu_sim_coproc_takes_commands() -> None:
    proc = kofu("sim", "coproc")
    first = read_until(proc, "port: ")
    port = first.split("port: ", 1)[1].strip()
    assert Path(port).exists()
    out, _ = proc.communicate("door open\nfly away\n", timeout=15)
    assert proc.returncode == 0
    assert out.splitlines()[0] == "ok" and "unknown command" in out
    assert not Path(port).exists()
