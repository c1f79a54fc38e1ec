"""Make sure the system's pcscd runs, with the vpcd reader driver listening.

pcscd is system-wide: when one already runs it is used as it is; otherwise, as root, one is
started in the foreground as our child so whoever started it can stop it again.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from smartcard import scard

READER_CONF_DIR = Path("/etc/reader.conf.d")


class PcscdUnavailable(RuntimeError):
    pass


def vpcd_ports() -> list[int]:
    """The TCP ports vpcd listens on: CHANNELID of its reader.conf entry and the next one
    (the Debian driver opens two slots)."""
    for conf in sorted(READER_CONF_DIR.glob("*")):
        text = conf.read_text(errors="replace")
        if "libifdvpcd" not in text:
            continue
        for line in text.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == "CHANNELID":
                base = int(parts[1], 0)
                return [base, base + 1]
    return [0x8C7B, 0x8C7C]


def _listening(port: int) -> bool:
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if (
                len(fields) > 3
                and fields[3] == "0A"
                and int(fields[1].rsplit(":", 1)[1], 16) == port
            ):
                return True
    return False


def pcscd_running() -> bool:
    hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hr != scard.SCARD_S_SUCCESS:
        return False
    scard.SCardReleaseContext(ctx)
    return True


def ensure_pcscd(timeout_s: float = 10.0) -> subprocess.Popen[bytes] | None:
    """Start pcscd if none runs; returns the process we started (None if one was running)."""
    port = vpcd_ports()[0]
    if pcscd_running():
        if not _listening(port):
            raise PcscdUnavailable(
                f"pcscd runs but vpcd does not listen on port {port}: "
                "install vsmartcard-vpcd and restart pcscd"
            )
        return None
    exe = shutil.which("pcscd") or "/usr/sbin/pcscd"
    if not Path(exe).exists():
        raise PcscdUnavailable("pcscd is not installed (Debian package pcscd)")
    if os.geteuid() != 0:
        raise PcscdUnavailable(
            "pcscd is not running and only root can start it: run `sudo pcscd` "
            "(or `sudo systemctl start pcscd.socket`), then try again"
        )
    proc = subprocess.Popen(
        [exe, "--foreground"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise PcscdUnavailable(f"pcscd exited at once (status {proc.returncode})")
        if pcscd_running() and _listening(port):
            return proc
        time.sleep(0.05)
    stop_pcscd(proc)
    raise PcscdUnavailable("pcscd did not come up in time")


def stop_pcscd(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
