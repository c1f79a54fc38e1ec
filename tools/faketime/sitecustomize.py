"""Loaded by every Python process of a `make test-clock` run (tools/shifted_clock.py puts this
folder on PYTHONPATH), never otherwise.

The run shifts the machine's clock with libfaketime and leaves the monotonic clock alone
(faking it makes every timed lock wait in Python block for the whole shift). libfaketime
0.9.10 then refuses Python's own `time.sleep`, an absolute `clock_nanosleep` on the monotonic
clock, with EINVAL: sleep with `select` instead, which it passes through unchanged.
"""

from __future__ import annotations

import os

if os.environ.get("FAKETIME"):
    import select
    import time

    def _sleep(secs: float) -> None:
        if secs < 0:
            raise ValueError("sleep length must be non-negative")
        end = time.monotonic() + secs
        while (left := end - time.monotonic()) > 0:
            select.select([], [], [], left)

    time.sleep = _sleep
