"""`kofu sim cash`: the ccTalk bus and the ID-003 validator on ptys, on their own.

Prints one JSON line with the pty paths (point `[cash.cctalk] port` and `[cash.id003] port`
at them), then reads control commands from stdin, one per line, and answers each with a JSON
line. At end of input it keeps serving until SIGINT/SIGTERM.

    coin VALUE[old|new] [genuine|counterfeit|slug|string]     queue VALUE...
        (`coin 500` is the bi-colour coin of 2021, `coin 500old` the one before it)
    bill VALUE [genuine|counterfeit|jam]             jam | unjam | cheat
    stacker-full | stacker-open | stacker-close      validator-power-cut
    hopper-empty ADDR N | hopper-cut ADDR N | hopper-on ADDR
    hopper-model ADDR sch2|sch2-counting-refusals    (does a refused dispense count?)
    acceptor-power-cycle | drop WIRE N | corrupt WIRE N   (WIRE: cctalk | id003)
    totals | dropped (bytes each pty lost: its host was not reading) | quit
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from drivers.coin.cctalk import Checksum
from sim.cash.cctalk_models import HOPPER_MODELS
from sim.cash.server import CashSim


def parse_hoppers(text: str) -> dict[int, tuple[int, int]]:
    out: dict[int, tuple[int, int]] = {}
    for part in text.split(","):
        address, value, count = (int(x) for x in part.split(":"))
        out[address] = (value, count)
    return out


def coin_issue(sim: CashSim, token: str) -> tuple[int, str | None]:
    """``500`` -> the newest 500-yen issue in the acceptor's table; ``500old`` -> the oldest."""
    which = "new"
    for suffix in ("old", "new"):
        if token.endswith(suffix):
            token, which = token[: -len(suffix)], suffix
    value = int(token)
    issues = sim.acceptor.issues_of(value)
    if not issues:
        return value, None  # not in the table (1 and 5 yen): the acceptor rejects it
    return value, issues[0] if which == "old" else issues[-1]


def command(sim: CashSim, line: str) -> object:
    words = line.split()
    if not words:
        return None
    op, args = words[0], words[1:]
    if op == "coin":
        value, issue = coin_issue(sim, args[0])
        kind = args[1] if len(args) > 1 else "genuine"
        return {"taken": sim.insert_coin(value, kind, issue), "issue": issue}
    if op == "queue":
        sim.queue_coins(*(int(a) for a in args))
    elif op == "bill":
        sim.insert_bill(int(args[0]), args[1] if len(args) > 1 else "genuine")
    elif op == "jam":
        sim.jam(True)
    elif op == "unjam":
        sim.jam(False)
    elif op == "cheat":
        sim.cheat()
    elif op == "stacker-full":
        sim.stacker_full()
    elif op == "stacker-open":
        sim.stacker_open(True)
    elif op == "stacker-close":
        sim.stacker_open(False)
    elif op == "validator-power-cut":
        sim.validator_power_cut()
    elif op == "acceptor-power-cycle":
        sim.power_cycle_acceptor()
    elif op == "hopper-empty":
        sim.hopper_empty_after(int(args[0]), int(args[1]))
    elif op == "hopper-cut":
        sim.hopper_power_cut_after(int(args[0]), int(args[1]))
    elif op == "hopper-on":
        sim.hopper_power_on(int(args[0]))
    elif op == "hopper-model":
        with sim.lock:
            sim.hoppers[int(args[0])].model = HOPPER_MODELS[args[1]]
    elif op == "drop":
        sim.drop_replies(args[0], int(args[1]))
    elif op == "corrupt":
        sim.corrupt_replies(args[0], int(args[1]))
    elif op == "totals":
        return sim.totals()
    elif op == "dropped":
        return sim.dropped()
    else:
        raise ValueError(f"unknown command {op!r}")
    return {"ok": True}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="kofu sim cash", description=__doc__.split("\n\n")[0])
    ap.add_argument("--hoppers", default="3:100:50,4:500:20", help="ADDR:VALUE:COUNT,...")
    ap.add_argument("--checksum", choices=[c.value for c in Checksum], default="sum8")
    args = ap.parse_args(argv)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    sim = CashSim(parse_hoppers(args.hoppers), checksum=Checksum(args.checksum))
    # Replies to the request's source address (until server.py builds this bus itself).
    with sim:
        print(json.dumps({"cctalk": sim.cctalk_path, "id003": sim.id003_path}), flush=True)
        reader = threading.Thread(target=_read_commands, args=(sim, stop), daemon=True)
        reader.start()
        stop.wait()
    return 0


def _read_commands(sim: CashSim, stop: threading.Event) -> None:
    for line in sys.stdin:
        if line.strip() == "quit":
            stop.set()
            return
        try:
            result = command(sim, line)
        except (ValueError, IndexError, KeyError) as exc:
            result = {"error": str(exc)}
        if result is not None:
            print(json.dumps(result), flush=True)
