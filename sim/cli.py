"""`kofu sim ...`: the simulated kiosk and each simulated part on its own.

`kofu sim` with no part runs the whole simulation (the main job, `make sim`). A part name
runs that simulator alone, e.g. `kofu sim card --persona valid` for other PC/SC software.
"""

from __future__ import annotations

import importlib
import sys

# part -> (module exposing main(argv) -> int, help)
PARTS: dict[str, tuple[str, str]] = {
    "coproc": ("sim.coproc.cli", "the coprocessor firmware under CPython on a pty"),
    "card": ("sim.card.cli", "a virtual My Number card on pcscd (vsmartcard-vpcd)"),
    "cash": ("sim.cash.cli", "ccTalk coin acceptor and hoppers, ID-003 validator on ptys"),
    "printer": ("sim.printer.cli", "ippeveprinter A4 printer and the ESC/POS receipt sink"),
}

WHOLE = "sim.whole"  # module with main(argv): everything together


def usage() -> str:
    lines = ["usage: kofu sim [part] [args...]", "", "parts (none: the whole simulation):"]
    for name, (_, text) in PARTS.items():
        lines.append(f"  {name.ljust(8)}  {text}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    if argv and argv[0] in PARTS:
        module_name = PARTS[argv[0]][0]
        rest = argv[1:]
    else:
        module_name = WHOLE
        rest = argv
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            print(f"kofu sim: {module_name} is not available in this build", file=sys.stderr)
            return 2
        raise
    result: int = module.main(rest)
    return result
