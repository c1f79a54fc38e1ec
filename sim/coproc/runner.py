"""The simulated coprocessor's chip: one process running the unmodified firmware.

Started by sim.coproc.device.SimCoproc with two inherited sockets: the link (the firmware's
UART) and the control channel (JSON lines: input levels in, output state out). Exiting with
machine_shim.WATCHDOG_EXIT means the watchdog reset the chip.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import socket
import sys
import threading
import time
import types
from pathlib import Path
from typing import Any

from sim.coproc import machine_shim
from sim.coproc.machine_shim import BOARD

ROOT = Path(__file__).resolve().parents[2]
FIRMWARE = ROOT / "firmware"
PROTOCOL = ROOT / "protocol"

CAUSES = {
    "power_on": machine_shim.PWRON_RESET,
    "watchdog": machine_shim.WDT_RESET,
    "soft": machine_shim.SOFT_RESET,
}


def install_micropython_runtime() -> None:
    """What MicroPython has and CPython lacks, as far as the firmware uses it."""
    sys.modules["machine"] = machine_shim
    if not hasattr(time, "ticks_ms"):
        time.ticks_ms = machine_shim.ticks_ms  # type: ignore[attr-defined]
    if not hasattr(asyncio, "sleep_ms"):

        async def sleep_ms(ms: int) -> None:
            await asyncio.sleep(ms / 1000)

        asyncio.sleep_ms = sleep_ms  # type: ignore[attr-defined]
    mp = types.ModuleType("micropython")
    mp.const = lambda x: x  # type: ignore[attr-defined]
    mp.schedule = lambda f, arg: f(arg)  # type: ignore[attr-defined]
    mp.alloc_emergency_exception_buf = lambda n: None  # type: ignore[attr-defined]
    sys.modules.setdefault("micropython", mp)
    for path in (str(PROTOCOL), str(FIRMWARE)):
        if path not in sys.path:
            sys.path.insert(0, path)


def _led_mode(pin: int, now: float) -> str:
    toggles = list(BOARD.toggles.get(pin, ()))
    # blinking: at least three recent changes (a single on->off is not a blink)
    if len(toggles) >= 3 and now - toggles[-1] < 0.7 and now - toggles[-3] < 1.3:
        return "blink_fast" if toggles[-1] - toggles[-2] < 0.3 else "blink_slow"
    return "on" if BOARD.outputs.get(pin, 0) else "off"


def snapshot() -> dict[str, Any]:
    board = importlib.import_module("board")  # the firmware's own modules, from its folder
    buzzer = importlib.import_module("buzzer")

    now = time.monotonic()
    with BOARD.lock:
        heard = {f for t, f in BOARD.tones if now - t < 1.2}
        freq, duty = BOARD.pwm.get(board.BUZZER, (0, 0))
        if duty > 0:
            heard.add(freq)
        pattern = "off"
        for number, steps in buzzer.PATTERNS.items():
            if heard and heard <= {s[0] for s in steps}:
                pattern = {1: "chime", 2: "reminder", 3: "alarm", 4: "error"}.get(number, "?")
        return {
            "inhibit": BOARD.outputs.get(board.COIN_INHIBIT) == board.COIN_INHIBIT_ON,
            "acceptors_locked": all(
                BOARD.outputs.get(pin) == board.ACCEPTOR_LOCK_ON
                for pin in (board.CCTALK_INHIBIT, board.BILL_INHIBIT)
            ),
            "leds": {
                "card": _led_mode(board.LED_CARD, now),
                "tray": _led_mode(board.LED_TRAY, now),
                "change": _led_mode(board.LED_CHANGE, now),
                "status": _led_mode(board.LED_STATUS, now),
            },
            "buzzer": pattern,
            "buzzer_sounding": duty > 0,
            "buzzer_freq": freq if duty > 0 else 0,
            "reset_cause": BOARD.reset_cause,
            "wdt_running": BOARD.wdt_started,
        }


def _pulse_train(
    pin: int, active: int, count: int, width_ms: float, gap_ms: float, realtime: bool
) -> None:
    if not realtime:
        # the acceptor's exact timing, stamped on every edge at once: a busy host cannot
        # stretch or merge the train the way a late-waking thread would
        t0 = machine_shim.ticks_ms()
        mask = (1 << 30) - 1
        edges = []
        for k in range(count):
            start = t0 + round(k * (width_ms + gap_ms))
            edges.append((active, start & mask))
            edges.append((1 - active, (start + round(width_ms)) & mask))
        BOARD.set_input_edges(pin, edges)
        return
    for _ in range(count):  # real time: the line's level is visible to polling as it goes
        BOARD.set_input(pin, active)
        time.sleep(width_ms / 1000)
        BOARD.set_input(pin, 1 - active)
        time.sleep(gap_ms / 1000)


def handle(req: dict[str, Any]) -> dict[str, Any]:
    board = importlib.import_module("board")
    config = importlib.import_module("config")

    op = req.get("op")
    if op == "state":
        return snapshot()
    if op == "input":
        BOARD.set_input(int(req["pin"]), int(req["level"]))
        return {}
    if op == "coin":
        pulses = {v: k for k, v in config.COIN_PULSES.items()}.get(int(req["yen"]))
        if pulses is None:
            return {"error": f"the acceptor is not programmed for {req['yen']} yen"}
        req = {"count": pulses, "width_ms": 30, "gap_ms": 30}
        op = "pulses"
    if op == "pulses":
        args = (
            board.COIN_PULSE,
            board.COIN_PULSE_ACTIVE,
            int(req["count"]),
            float(req.get("width_ms", 30)),
            float(req.get("gap_ms", 30)),
            bool(req.get("realtime", False)),
        )
        threading.Thread(target=_pulse_train, args=args, daemon=True).start()
        return {}
    if op == "link":
        # diagnostics only: the firmware keeps its channel to itself, so look it up
        import gc

        lch = importlib.import_module("link_channel")
        chans = [o for o in gc.get_objects() if isinstance(o, lch.Channel)]
        return {
            "channels": [
                {"up": c.up, "epoch": c.epoch, "peer": c.peer_epoch, "stats": c.stats}
                for c in chans
            ]
        }
    if op == "stall":
        BOARD.stall_until = time.monotonic() + float(req["seconds"])
        return {}
    return {"error": f"unknown op {op!r}"}


def control_loop(sock: socket.socket) -> None:
    fh = sock.makefile("rwb", buffering=0)
    for line in fh:
        try:
            req = json.loads(line)
            reply = handle(req)
        except Exception as exc:  # a bad request must not take the chip down
            req, reply = {}, {"error": repr(exc)}
        reply["id"] = req.get("id")
        fh.write((json.dumps(reply) + "\n").encode())
    import os

    os._exit(0)  # the simulator went away: power off


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--link-fd", type=int, required=True)
    parser.add_argument("--control-fd", type=int, required=True)
    parser.add_argument("--reset-cause", default="power_on", choices=sorted(CAUSES))
    parser.add_argument("--inputs", default="{}", help="JSON {pin: level} of the outside world")
    args = parser.parse_args(argv)
    BOARD.reset_cause = CAUSES[args.reset_cause]
    for pin, level in json.loads(args.inputs).items():
        BOARD.inputs[int(pin)] = int(level)
    link = socket.socket(fileno=args.link_fd)
    link.setblocking(False)
    BOARD.link_sock = link
    control = socket.socket(fileno=args.control_fd)
    install_micropython_runtime()
    threading.Thread(target=control_loop, args=(control,), daemon=True).start()
    importlib.import_module("main")  # runs the firmware, as the board does at boot

    return 0


if __name__ == "__main__":
    raise SystemExit(main())
