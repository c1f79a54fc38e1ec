"""make firmware-check, heap part: the firmware's heap under the real MicroPython through a
burst, against the real host codec.

The device is the firmware as .mpy under MicroPython (tools/mp_heap.mjs, one link turn per
`step`), the host a link Channel here under CPython; this script is the wire between them.
Scenario: handshake; 64 coin events at once (a full outbox) with a window of host commands;
1.8 s of a lossy line both ways; a UART buffer overrun by noise; a cut line that drops the
session while 20 more coins wait; the re-handshake and drain. Every coin must arrive.
Prints `mp heap: {...}`: heap_peak_kb (the firmware's heap at its highest, each turn's
garbage included), heap_live_peak_kb, heap_boot_kb, interpreter_kb. Fails above BUDGET_KB.
"""

from __future__ import annotations

import importlib.util
import json
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from protocol import link_catalog as lcat  # noqa: E402
from protocol import link_channel as lch  # noqa: E402

BUDGET_KB = 64  # what an RP2040 leaves the heap, with room for the port itself: fails above
GOAL_KB = 40  # issue 19's goal, reported beside the figure (not yet met: see firmware/README)
STEP_MS = 2  # the firmware's LINK_POLL_MS
COMMANDS = [
    (lcat.MSG_LED, (0, lcat.LED_BLINK_FAST)),
    (lcat.MSG_LED, (1, lcat.LED_BLINK_FAST)),
    (lcat.MSG_LED, (2, lcat.LED_BLINK_FAST)),
    (lcat.MSG_BUZZER, (lcat.BUZZER_ALARM, 2)),
    (lcat.MSG_COIN_INHIBIT, (0,)),
    (lcat.MSG_SERVICE_MODE, (0,)),
    (lcat.MSG_STATUS_REQUEST, ()),
    (lcat.MSG_STATUS_REQUEST, ()),
]


class Device:
    def __init__(self, mpy_dir: Path) -> None:
        self.proc = subprocess.Popen(
            ["node", str(ROOT / "tools" / "mp_heap.mjs"), str(mpy_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def ask(self, line: str) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline()
        if not reply or reply.startswith("!"):
            rest = self.proc.stdout.read()
            raise RuntimeError("device under MicroPython failed: " + reply + rest)
        return reply.strip()

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def run(mpy_dir: Path, old_codec: Any = None) -> dict[str, object]:
    """`old_codec`: an older build's single-file link_codec module, channel and catalog in one."""
    chan = old_codec or lch
    cat = old_codec or lcat
    dev = Device(mpy_dir)
    host = chan.Channel(
        chan.ROLE_HOST,
        "host",
        0,
        chan.RESET_HOST,
        catalog_hash=cat.CATALOG_HASH,
        rand32=lambda: 0x51525354,
    )
    pending: list[tuple[int, bytes]] = []
    counters: list[int] = []
    to_dev = b""
    turns = 0
    try:
        for now in range(0, 7000, STEP_MS):
            if now == 600:
                dev.ask("coins 64")  # an outbox's worth at once
                pending += [(m, cat.encode_message(m, v)) for m, v in COMMANDS]
            if now == 2400:
                dev.ask("noise 1500")  # more than the UART buffer holds
            if now == 2800:
                dev.ask("coins 20")  # while the line is cut: they wait for the next session
            cut = 2600 <= now < 4000
            lossy = 600 <= now < 2400
            out = bytes.fromhex(dev.ask(f"step {now} {to_dev.hex()}"))
            turns += 1
            if cut or (lossy and turns % 7 == 0):
                out = b""
            events = host.receive(out, now) + host.tick(now)
            for ev in events:
                if isinstance(ev, chan.Received) and ev.msg_id == cat.MSG_COIN:
                    counters.append(struct.unpack("<HBH", ev.body)[2])
            while pending and host.can_send():
                host.send(*pending.pop(0), now)
            to_dev = host.outgoing()
            if cut or (lossy and turns % 11 == 0):
                to_dev = b""
        base, boot, peak, live, peak_at = (int(x) for x in dev.ask("report").split())
    finally:
        dev.close()
    seen = sorted(set(counters))  # a coin resent across sessions is the host's to drop

    def kb(n: int) -> float:
        return round(n / 1024, 1)

    return {
        "heap_peak_kb": kb(peak),
        "heap_peak_at_ms": peak_at,
        "heap_live_peak_kb": kb(live),
        "heap_boot_kb": kb(boot),
        "interpreter_kb": kb(base),
        "goal_kb": GOAL_KB,
        "budget_kb": BUDGET_KB,
        "coins_delivered": len(seen),
        "coins_in_order": seen == list(range(1, len(seen) + 1)),
    }


def load_codec(path: Path) -> Any:
    """An older build's link_codec.py (before the split) for the host, to measure an older
    firmware alike."""
    spec = importlib.util.spec_from_file_location("other_link_codec", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(mpy_dir: Path, host_codec: Path | None = None) -> int:
    try:
        result = run(mpy_dir, load_codec(host_codec) if host_codec else None)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        print("mp heap: " + str(exc))
        return 1
    print("mp heap: " + json.dumps(result))
    if result["coins_delivered"] != 84 or not result["coins_in_order"]:
        print("mp heap: coin events were lost under the burst")
        return 1
    return 0 if float(str(result["heap_peak_kb"])) <= BUDGET_KB else 1


if __name__ == "__main__":
    # usage: firmware_heap.py MPY_DIR [HOST_LINK_CODEC_PY]
    raise SystemExit(main(Path(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) > 2 else None))
