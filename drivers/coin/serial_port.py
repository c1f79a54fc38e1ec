"""Opening a cash device's serial port from configuration: a device path, a pty path from the
simulator, or any pyserial URL (``socket://``, ``rfc2217://``, ``loop://``)."""

from __future__ import annotations

import os
import stat
from typing import Any

import serial

from drivers.coin.errors import CashDeviceError


class PortError(CashDeviceError):
    """The configured port does not exist, is busy, or refuses the settings."""


PARITY_NONE = serial.PARITY_NONE
PARITY_EVEN = serial.PARITY_EVEN

# Unix98 pseudo-terminal slaves (/dev/pts/N) have character-device majors 136..143.
_PTY_MAJORS = range(136, 144)


def is_pseudo_terminal(path: str) -> bool:
    try:
        st = os.stat(path)
    except OSError:
        return False
    return stat.S_ISCHR(st.st_mode) and os.major(st.st_rdev) in _PTY_MAJORS


def open_port(port: str, *, baudrate: int = 9600, parity: str = PARITY_NONE) -> Any:
    """A pyserial port with short read timeouts (the transports poll).

    A pseudo-terminal carries bytes, not bits: it cannot do parity, and Linux refuses a
    second even-parity setup on one (EINVAL). On a pty, parity is left off, so 8E1 framing
    (ID-003) is only exercised on a real port.
    """
    if "://" not in port and is_pseudo_terminal(port):
        parity = PARITY_NONE
    try:
        return _open(port, baudrate, parity)
    except (serial.SerialException, ValueError) as exc:
        raise PortError(f"cannot open cash device port {port!r}: {exc}") from exc


def _open(port: str, baudrate: int, parity: str) -> Any:
    return serial.serial_for_url(
        port,
        baudrate=baudrate,
        bytesize=serial.EIGHTBITS,
        parity=parity,
        stopbits=serial.STOPBITS_ONE,
        timeout=0.01,
        write_timeout=1.0,
        exclusive=True if "://" not in port else None,
    )
