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
from collections.abc import Callable
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


def _wait(check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise DaemonError(f"{what} did not come up within {timeout:.0f} s")


@dataclass
class Daemons:
    """What :func:`ensure` started (and :meth:`stop` will stop). Both run in the
    foreground as our children, so stopping them also reaps them."""

    procs: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def stop(self) -> None:
        for name, proc in reversed(self.procs):  # avahi first: it uses dbus
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
            check = _avahi_running if name == "avahi-daemon" else _dbus_running
            _wait(lambda c=check: not c(), f"{name} shutdown")  # type: ignore[misc]
        self.procs.clear()


def _start(started: Daemons, name: str, argv: list[str], ready: Callable[[], bool]) -> None:
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    started.procs.append((name, proc))
    deadline = time.monotonic() + 10
    while not ready():
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
            raise DaemonError(f"{name} exited: {err[-300:]}")
        if time.monotonic() > deadline:
            raise DaemonError(f"{name} did not come up within 10 s")
        time.sleep(0.1)


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
            DBUS_SOCKET.unlink(missing_ok=True)  # stale socket of a dead daemon
            _start(started, "dbus", [exe, "--system", "--nofork", "--nopidfile"],
                   _dbus_running)
        if need_avahi:
            exe = _need("avahi-daemon", "avahi-daemon")
            Path("/run/avahi-daemon/pid").unlink(missing_ok=True)  # stale: it would refuse
            _start(started, "avahi-daemon", [exe, "--no-chroot", "--no-rlimits"],
                   _avahi_running)
    except BaseException:
        started.stop()
        raise
    return started
