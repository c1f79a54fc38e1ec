"""The `kofu` console entry point: one command, subcommands loaded on demand.

Each subcommand lives in the module that owns it and exposes ``main(argv) -> int``; loading
lazily keeps `kofu --help` fast and lets a Pi without, say, the center's dependencies still
run the kiosk.
"""

from __future__ import annotations

import importlib
import os
import sys

# name -> (module, one-line help). Keep names stable: operators and scripts call them.
COMMANDS: dict[str, tuple[str, str]] = {
    "sim": ("sim.cli", "run the simulated kiosk and its devices (sim card, sim coproc, ...)"),
    "kiosk": ("host.kiosk_cli", "run the kiosk service from a kiosk.toml"),
    "center": ("center.cli", "run or administer the issuance center"),
    "verify": ("documents.verify_cli", "verify a printed certificate's signed 2D code"),
    "paper": ("documents.paper_cli", "render sample certificates and receipts"),
    "cash": ("host.cash_cli", "cash journal report and recovery"),
    "doctor": ("host.doctor", "check every configured device and the center"),
    "bench": ("bench.cli", "run benchmarks; each prints one JSON object as its last line"),
}


def usage() -> str:
    lines = ["usage: kofu <command> [args...]", "", "commands:"]
    width = max(len(n) for n in COMMANDS)
    for name, (_, text) in COMMANDS.items():
        lines.append(f"  {name.ljust(width)}  {text}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"kofu: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module_name, _ = COMMANDS[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            print(f"kofu: '{name}' is not available in this build", file=sys.stderr)
            return 2
        raise
    try:
        result: int = module.main(rest)
    except BrokenPipeError:
        # `kofu verify x.pdf | head`: the reader went away; that is not our failure.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return result


if __name__ == "__main__":
    raise SystemExit(main())
