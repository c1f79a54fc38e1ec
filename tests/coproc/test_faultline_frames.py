"""The fault line treats the delimiters in front of a frame as part of it, so garbage it
adds lands before the leading delimiter, as noise on an idle line does: with a delimiter
before every frame (protocol v2) every frame survives garbage before every frame."""

from __future__ import annotations

import os
import selectors
import time
import tty

from protocol import link_catalog as lcat
from protocol import link_frame as lf
from sim.coproc.faultline import FaultLine, Faults

SESSION = 0x0BADCAFE


def test_garbage_before_every_frame_costs_no_frame() -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    os.set_blocking(master, False)
    frames = [
        lf.Frame(lf.KIND_DATA, SESSION, i % lf.SEQ_MOD, 0, lcat.MSG_DOOR, bytes((i & 1,)))
        for i in range(40)
    ]
    with FaultLine(os.ttyname(slave), Faults(garbage=1.0), seed=5) as line:
        host = os.open(line.port, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(host)
        try:
            os.write(master, b"".join(lf.encode_frame(f) for f in frames))
            reader = lf.FrameReader(SESSION)
            got: list[lf.Frame] = []
            errors = 0
            sel = selectors.DefaultSelector()
            sel.register(host, selectors.EVENT_READ)
            deadline = time.monotonic() + 10  # a bound for a hung relay, not a speed check
            while len(got) < len(frames) and time.monotonic() < deadline:
                if sel.select(0.5):
                    for item in reader.feed(os.read(host, 65536)):
                        if isinstance(item, lf.Frame):
                            got.append(item)
                        else:
                            errors += 1
            sel.close()
        finally:
            os.close(host)
    os.close(master)
    os.close(slave)
    assert line.stats["garbage"] >= len(frames)
    assert got == frames
    assert errors > 0  # the garbage was seen, and rejected on its own
