"""`make test-clock`: the clock-sensitive suites with the machine's clock shifted.

Each run starts pytest under Debian's `faketime` (libfaketime), with the machine's clock
moved to one instant that has bitten, or could bite, a kiosk that reads the wrong clock:

- 23:30 and 00:05 Asia/Tokyo (closed; a simulation starts at the next opening, on another
  day than the machine's),
- 06:29 Asia/Tokyo (a minute before opening),
- 29 December 10:00 (year-end closure starts), 3 January 23:59 (its last minute),
- 29 February 10:00 (a leap day).

The shift is an offset from the real clock (`FAKETIME=+Ns`), the same for every process the
run starts, so the center, the kiosk and the simulators keep agreeing; monotonic clocks are
left alone (Python's timed waits use them; `tools/faketime/sitecustomize.py` says why).
Each instant is the next one after the real clock, so certificates made during the run are
valid from then on.

Prints a line per instant and, last, one JSON object: ``instants`` (each with its ``rc``,
``passed``, ``failed`` and ``wall_s``) and ``failed`` (the instants that did not pass). Exit
status 1 when any instant failed. ``--only NAME`` runs one instant; the suites can be named.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
TOKYO = ZoneInfo("Asia/Tokyo")
# The cash suite's wire-protocol and device tests time replies on the monotonic clock, which
# the shift leaves alone; under libfaketime's preload their millisecond timing is not the
# machine's (a reply now and then misses its window), so only the cash tests about days,
# slips and the journal's books run here. `make test` runs them all.
CASH_BOOKS = [
    "tests/cash/test_cli.py",
    "tests/cash/test_slips.py",
    "tests/cash/test_change_and_journal.py",
    "tests/cash/test_refund_fee.py",
]
SUITES = ["tests/e2e", "tests/kiosk", "tests/session", "tests/center", *CASH_BOOKS, "tests/ui"]
SUMMARY = re.compile(r"(\d+) (passed|failed|error|errors)\b")


def _next_time_of_day(hh: int, mm: int) -> Callable[[datetime], datetime]:
    def at(now: datetime) -> datetime:
        local = now.astimezone(TOKYO)
        when = local.replace(hour=hh, minute=mm, second=0, microsecond=0)
        return when if when > local else when + timedelta(days=1)

    return at


def _next_date(month: int, day: int, hh: int, mm: int) -> Callable[[datetime], datetime]:
    def at(now: datetime) -> datetime:
        year = now.astimezone(TOKYO).year
        while True:
            try:
                when = datetime(year, month, day, hh, mm, tzinfo=TOKYO)
            except ValueError:  # 29 February of a common year
                year += 1
                continue
            if when > now:
                return when
            year += 1

    return at


INSTANTS: dict[str, Callable[[datetime], datetime]] = {
    "tokyo-2330": _next_time_of_day(23, 30),
    "tokyo-0005": _next_time_of_day(0, 5),
    "tokyo-0629": _next_time_of_day(6, 29),
    "dec-29-1000": _next_date(12, 29, 10, 0),
    "jan-03-2359": _next_date(1, 3, 23, 59),
    "feb-29-1000": _next_date(2, 29, 10, 0),
}


def run_at(name: str, when: datetime, suites: list[str], workers: str) -> dict[str, object]:
    faketime = shutil.which("faketime")
    if faketime is None:
        raise SystemExit("make test-clock: faketime not found (Debian package faketime)")
    offset = int(when.timestamp() - time.time())
    site = str(ROOT / "tools" / "faketime")  # sitecustomize: time.sleep under libfaketime
    path = os.pathsep.join(p for p in (site, os.environ.get("PYTHONPATH", "")) if p)
    env = dict(os.environ, FAKETIME_DONT_FAKE_MONOTONIC="1", PYTHONPATH=path)
    cmd = [
        faketime, "-f", f"{offset:+d}s",
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
        "-n", workers, *suites,
    ]  # fmt: skip
    t0 = time.monotonic()
    print(f"test-clock {name}: machine clock at {when.isoformat()} "
          f"(Asia/Tokyo), offset {offset:+d} s", flush=True)  # fmt: skip
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    out = done.stdout + done.stderr
    counts = {kind: int(n) for n, kind in SUMMARY.findall(out.splitlines()[-1] if out else "")}
    result = {
        "name": name,
        "instant": when.isoformat(),
        "rc": done.returncode,
        "passed": counts.get("passed", 0),
        "failed": counts.get("failed", 0) + counts.get("error", 0) + counts.get("errors", 0),
        "wall_s": round(time.monotonic() - t0, 1),
    }
    print(f"test-clock {name}: {json.dumps(result)}", flush=True)
    if done.returncode != 0:
        sys.stderr.write(out[-30000:])
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", choices=sorted(INSTANTS), action="append",
                    help="run this instant only (repeatable)")  # fmt: skip
    ap.add_argument("--workers", default=os.environ.get("TEST_WORKERS", "2"))
    ap.add_argument("suites", nargs="*", default=SUITES)
    args = ap.parse_args(argv)
    now = datetime.now(UTC)
    names = args.only or list(INSTANTS)
    # The system bus and avahi-daemon (ippeveprinter's) are the machine's, not the kiosk's:
    # started here, on the real clock, so the runs find them up and leave them alone.
    from sim.printer import daemons

    running = daemons.ensure()
    try:
        results = [run_at(n, INSTANTS[n](now), args.suites, args.workers) for n in names]
    finally:
        running.stop()
    failed = [r["name"] for r in results if r["rc"] != 0]
    print(json.dumps({"instants": results, "failed": failed}))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
