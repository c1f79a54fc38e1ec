"""Opening a cash device's serial port from configuration: a device path, a pty path from the
simulator, or any pyserial URL (``socket://``, ``rfc2217://``, ``loop://``)."""

from __future__ import annotations

from typing import Any

import serial


def open_port(port: str, *, baudrate: int = 9600, parity: str = "N") -> Any:
    """A pyserial port with non-blocking-ish reads (the transports poll with short timeouts).

    On a pseudo-terminal the parity setting is accepted but not enforced: the simulator sees
    bytes, not bits, so 8E1 framing (ID-003) can only be exercised on real hardware.
    """
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


PARITY_NONE = serial.PARITY_NONE
PARITY_EVEN = serial.PARITY_EVEN
