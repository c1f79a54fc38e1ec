"""`python -m bench.fuzz [--inputs N] [--seed S] [--target NAME ...]`: fuzz every decoder.

Each target gets its default number of inputs (10^6; 10^5 for the slow ones) unless
``--inputs`` (or FUZZ_INPUTS) says otherwise, random and mutated from valid samples, all from
one seed (printed; pass it back to replay the same inputs). One JSON line per target:
``inputs``, ``crashes`` (an exception other than the decoder's documented error, or an oracle
that failed), ``hangs`` (an input costing more than ``--hang-s`` of CPU), ``signatures``
(where each crash was raised) and ``saved`` (the inputs kept under ``--corpus``, replayed by
`tests/fuzz/test_corpus.py` in `make test`). Exit status 1 when anything crashed or hung.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

from bench.fuzz import engine
from bench.fuzz.targets import ROOT, all_targets


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.fuzz", description=__doc__.split("\n")[0])
    env_inputs = os.environ.get("FUZZ_INPUTS")
    ap.add_argument("--inputs", type=int, default=int(env_inputs) if env_inputs else None,
                    help="inputs per target (default: each target's own, 10^6 or 10^5)")
    ap.add_argument("--seed", type=int, default=None, help="default: random, printed")
    ap.add_argument("--target", action="append", default=[], help="only these (repeatable)")
    ap.add_argument("--hang-s", type=float, default=1.0, help="CPU seconds that make a hang")
    ap.add_argument("--corpus", type=Path, default=ROOT / "tests/fuzz/corpus",
                    help="where crashing inputs are kept (default tests/fuzz/corpus)")
    ap.add_argument("--no-save", action="store_true", help="keep no crashing inputs")
    ap.add_argument("--list", action="store_true", help="list the targets and exit")
    args = ap.parse_args(argv)  # fmt: skip

    targets = all_targets()
    if args.list:
        for t in targets:
            print(f"{t.name:18} {t.inputs:>9}  {t.doc}")
        return 0
    unknown = set(args.target) - {t.name for t in targets}
    if unknown:
        print(f"unknown target(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    seed = args.seed if args.seed is not None else random.SystemRandom().getrandbits(32)
    status = 0
    for target in targets:
        if args.target and target.name not in args.target:
            continue
        cpu0, t0 = time.process_time(), time.monotonic()
        result = engine.fuzz(target, args.inputs or target.inputs, seed, args.hang_s)
        if not args.no_save:
            engine.save(result, args.corpus)
        line = result.line(seed, time.process_time() - cpu0)
        line["wall_s"] = round(time.monotonic() - t0, 1)
        print(json.dumps(line), flush=True)
        status = status or int(bool(result.crashes or result.hangs))
    return status


if __name__ == "__main__":
    sys.exit(main())
