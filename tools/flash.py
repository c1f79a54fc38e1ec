"""`make flash PORT=/dev/ttyACM0`: deploy the firmware and the shared link modules to a Pico
running MicroPython, with mpremote (the Pico's USB REPL port, not the link UART).

Every file of firmware/ and protocol/link_*.py goes to the board's root, side by side
as the firmware imports them; --mpy precompiles all but main.py with mpy-cross (less RAM
and a faster boot). The running firmware feeds a watchdog: strap GP22 (SAFE_BOOT) to GND
and reset the board first, or the watchdog may reset it in the middle of the copy.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def link_modules() -> list[Path]:
    """The codec the firmware shares with the host: framing, channel and message catalog."""
    return sorted((ROOT / "protocol").glob("link_*.py"))


def sources() -> list[Path]:
    return [*sorted((ROOT / "firmware").glob("*.py")), *link_modules()]


def plan(port: str, mpy: bool, build: Path) -> list[list[str]]:
    mpremote = [sys.executable, "-m", "mpremote", "connect", port]
    cmds: list[list[str]] = []
    for src in sources():
        target = src
        if mpy and src.name != "main.py":
            target = build / (src.stem + ".mpy")
            cmds.append([sys.executable, "-m", "mpy_cross", "-march=armv6m", "-o", str(target),
                         str(src)])
        cmds.append([*mpremote, "cp", str(target), ":" + target.name])
        if mpy and src.name != "main.py":
            cmds.append([*mpremote, "rm", ":" + src.name])  # a stale .py would shadow the .mpy
    cmds.append([*mpremote, "reset"])
    return cmds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", default="/dev/ttyACM0", help="the Pico's USB serial port")
    parser.add_argument("--mpy", action="store_true", help="precompile with mpy-cross")
    parser.add_argument("--dry-run", action="store_true", help="print the commands only")
    args = parser.parse_args(argv)
    build = Path(tempfile.mkdtemp(prefix="kofu-flash-"))
    try:
        for cmd in plan(args.port, args.mpy, build):
            print("+ " + " ".join(cmd), flush=True)
            if args.dry_run:
                continue
            proc = subprocess.run(cmd)
            if proc.returncode != 0 and cmd[-1].startswith(":") and "rm" in cmd:
                continue  # nothing to remove
            if proc.returncode != 0:
                print(f"flash: failed ({proc.returncode}); is the board on {args.port} and in "
                      "SAFE_BOOT?", file=sys.stderr)
                return proc.returncode
    finally:
        shutil.rmtree(build, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
