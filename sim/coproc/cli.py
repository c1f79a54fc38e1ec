"""`kofu sim coproc`: the simulated coprocessor alone, for the host driver or other tools.

Prints the serial port to open, then reads control commands from stdin until EOF, Ctrl-C
or SIGTERM:  coin 100 | pulses 7 | tray certificate on | tray change off | door open |
door closed | stall 3 | unplug | plug | state
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from types import FrameType

from sim.coproc.device import SimCoproc, SimError

COMMANDS = (
    "coin YEN | pulses N | tray certificate|change on|off | door open|closed | stall SECONDS"
    " | unplug | plug | state"
)


def command(sim: SimCoproc, words: list[str]) -> str:
    match words:
        case ["coin", yen]:
            sim.insert_coin(int(yen))
        case ["pulses", count]:
            sim.pulse_train(int(count))
        case ["tray", ("certificate" | "change") as tray, ("on" | "off") as state]:
            sim.set_tray(tray, state == "on")
        case ["door", ("open" | "closed") as state]:
            sim.set_door(state == "open")
        case ["stall", seconds]:
            sim.stall(float(seconds))
        case ["unplug"]:
            sim.unplug()
        case ["plug"]:
            sim.plug()
        case ["state"]:
            return json.dumps(sim.state())
        case _:
            return "unknown command; commands: " + COMMANDS
    return "ok"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="kofu sim coproc", description=__doc__)
    parser.add_argument("--dir", help="where to put the port symlink (default: a temp dir)")
    parser.add_argument(
        "--no-commands", action="store_true", help="ignore stdin; run until Ctrl-C or SIGTERM"
    )
    args = parser.parse_args(argv)
    done = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    with SimCoproc(args.dir) as sim:
        print(f"port: {sim.port}", flush=True)

        def read_commands() -> None:
            for line in sys.stdin:
                words = line.split()
                if not words:
                    continue
                try:
                    print(command(sim, words), flush=True)
                except (SimError, ValueError) as exc:
                    print(f"error: {exc}", flush=True)
            done.set()

        if not args.no_commands:
            threading.Thread(target=read_commands, daemon=True).start()
        done.wait()
    return 0
