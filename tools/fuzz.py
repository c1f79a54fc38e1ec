"""`make fuzz`: the property tests (Hypothesis, schemathesis) with random seeds and many more
examples than `make test`, for a bounded time.

Each round runs every test marked ``property`` under the ``fuzz`` Hypothesis profile with a
fresh random seed, until ``FUZZ_MINUTES`` (default 10) would be overrun by another round. The
last line printed is one JSON object: ``examples`` (passing examples run, from Hypothesis'
statistics), ``failures`` (failed tests), ``seeds`` (the seed of each round that failed, with
its failed tests: ``KOFU_HYPOTHESIS_PROFILE=fuzz pytest --hypothesis-seed=SEED TEST``
replays it), ``rounds`` and ``wall_s``. Exit status 1 when anything failed.

A failure found here becomes a committed ``@example`` (or a plain regression test), so
`make test` keeps checking it with its fixed profile.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = re.compile(r"(\d+) passing(?: examples?)?, (\d+) failing")  # Hypothesis' statistics
FAILED = re.compile(r"^FAILED (\S+)", re.MULTILINE)


@dataclass(frozen=True)
class Round:
    seed: int
    examples: int
    failed: list[str]
    seconds: float


def run_round(seed: int, factor: int, paths: list[str], budget_s: float) -> Round:
    env = dict(os.environ, KOFU_HYPOTHESIS_PROFILE="fuzz", KOFU_FUZZ_FACTOR=str(factor))
    cmd = [
        sys.executable, "-m", "pytest", "-q", "-m", "property", "-p", "no:cacheprovider",
        "--hypothesis-show-statistics", f"--hypothesis-seed={seed}", *paths,
    ]  # fmt: skip
    t0 = time.monotonic()
    try:
        done = subprocess.run(
            cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=max(60.0, budget_s)
        )
        out, code = done.stdout + done.stderr, done.returncode
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        code = -1
    passing = sum(int(m.group(1)) for m in EXAMPLES.finditer(out))
    failed = FAILED.findall(out)
    if code not in (0, 5) and not failed:
        failed = [f"pytest exit {code}"]
    if failed:
        sys.stderr.write(out[-20000:])
    return Round(seed, passing, failed, time.monotonic() - t0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=float(os.environ.get("FUZZ_MINUTES", 10)))
    ap.add_argument("--factor", type=int, default=int(os.environ.get("FUZZ_FACTOR", 10)),
                    help="each property's example budget is multiplied by this")  # fmt: skip
    ap.add_argument("--seed", type=int, help="first round's seed (default: random)")
    ap.add_argument("paths", nargs="*", default=["tests"], help="test paths (default: tests)")
    args = ap.parse_args(argv)

    rng = random.Random(args.seed)
    start = time.monotonic()
    deadline = start + args.minutes * 60
    rounds: list[Round] = []
    longest = 0.0
    while not rounds or time.monotonic() + longest < deadline:
        seed = args.seed if args.seed is not None and not rounds else rng.getrandbits(32)
        r = run_round(seed, args.factor, args.paths, deadline - time.monotonic() + 60)
        rounds.append(r)
        longest = max(longest, r.seconds)
        print(f"fuzz round {len(rounds)}: seed {seed}, {r.examples} examples, "
              f"{len(r.failed)} failed, {r.seconds:.0f} s", flush=True)
    failing = [{"seed": r.seed, "tests": r.failed} for r in rounds if r.failed]
    summary = {
        "examples": sum(r.examples for r in rounds),
        "failures": sum(len(r.failed) for r in rounds),
        "seeds": failing,
        "rounds": len(rounds),
        "factor": args.factor,
        "wall_s": round(time.monotonic() - start, 1),
    }
    print(json.dumps(summary))
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
