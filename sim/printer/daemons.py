"""dbus (system bus) and avahi-daemon, which ippeveprinter needs for DNS-SD.

Started only when not already running, and then stopped again by whoever started them;
a daemon someone else runs is left alone.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

DBUS_SOCKET = Path("/run/dbus/system_bus_socket")


class DaemonError(RuntimeError):
    """A system daemon the simulator needs is missing and cannot be started."""


def _dbus_running() -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(1)
            s.connect(str(DBUS_SOCKET))
        return True
    except OSError:
        return False


def _avahi_running() -> bool:
    exe = shutil.which("avahi-daemon")
    return exe is not None and subprocess.run([exe, "-c"], capture_output=True).returncode == 0


def _need(tool: str, package: str) -> str:
    exe = shutil.which(tool)
    if exe is None:
        raise DaemonError(f"{tool} not found: install the Debian package {package}")
    return exe


def _wait(check: object, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise DaemonError(f"{what} did not come up within {timeout:.0f} s")


@dataclass
class Daemons:
    """What :func:`ensure` started (and :meth:`stop` will stop)."""

    dbus_pid: int | None = None
    avahi: bool = False
    notes: list[str] = field(default_factory=list)

    def stop(self) -> None:
        if self.avahi:
            subprocess.run(["avahi-daemon", "-k"], capture_output=True)
            self.avahi = False
        if self.dbus_pid is not None:
            try:
                os.kill(self.dbus_pid, 15)
            except ProcessLookupError:
                pass
            self.dbus_pid = None


def ensure() -> Daemons:
    """Make sure a system dbus and avahi-daemon run; start the missing ones (as root)."""
    started = Daemons()
    need_dbus, need_avahi = not _dbus_running(), not _avahi_running()
    if (need_dbus or need_avahi) and os.geteuid() != 0:
        missing = [n for n, m in (("dbus", need_dbus), ("avahi-daemon", need_avahi)) if m]
        raise DaemonError(
            f"ippeveprinter needs {' and '.join(missing)} running: start them "
            "(e.g. 'sudo service dbus start; sudo avahi-daemon -D') or run the simulator as root"
        )
    try:
        if need_dbus:
            exe = _need("dbus-daemon", "dbus")
            DBUS_SOCKET.parent.mkdir(parents=True, exist_ok=True)
            (DBUS_SOCKET.parent / "pid").unlink(missing_ok=True)  # stale from a dead daemon
            out = subprocess.run([exe, "--system", "--fork", "--print-pid"],
                                 capture_output=True, text=True, timeout=10)
            if out.returncode != 0:
                raise DaemonError(f"dbus-daemon failed: {out.stderr.strip()}")
            started.dbus_pid = int(out.stdout.split()[0])
            _wait(_dbus_running, "dbus")
        if need_avahi:
            exe = _need("avahi-daemon", "avahi-daemon")
            out = subprocess.run([exe, "-D", "--no-chroot"], capture_output=True, text=True,
                                 timeout=10)
            if out.returncode != 0:
                raise DaemonError(f"avahi-daemon failed: {out.stderr.strip()}")
            started.avahi = True
            _wait(_avahi_running, "avahi-daemon")
    except BaseException:
        started.stop()
        raise
    return started
