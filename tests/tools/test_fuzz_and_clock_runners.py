"""`make fuzz` and `make test-clock` as an operator runs them: what they print and decide."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[2]
TOKYO = ZoneInfo("Asia/Tokyo")


def test_fuzz_prints_one_json_line_with_examples_and_seeds() -> None:
    done = subprocess.run(
        [sys.executable, "tools/fuzz.py", "--minutes", "0", "--factor", "1", "--seed", "7",
         "tests/protocol/test_codec_properties.py"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["rounds"] == 1 and summary["failures"] == 0 and summary["seeds"] == []
    assert summary["examples"] > 0


def test_clock_instants_are_the_ones_that_bite_and_lie_ahead() -> None:
    spec = importlib.util.spec_from_file_location("shifted_clock", ROOT / "tools/shifted_clock.py")
    assert spec is not None and spec.loader is not None
    shifted_clock = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(shifted_clock)
    now = datetime(2026, 12, 29, 12, 0, tzinfo=TOKYO)  # inside the year-end closure
    at = {name: f(now).astimezone(TOKYO) for name, f in shifted_clock.INSTANTS.items()}
    assert all(when > now for when in at.values())
    assert at["tokyo-2330"] == datetime(2026, 12, 29, 23, 30, tzinfo=TOKYO)
    assert at["tokyo-0005"] == datetime(2026, 12, 30, 0, 5, tzinfo=TOKYO)
    assert at["tokyo-0629"] == datetime(2026, 12, 30, 6, 29, tzinfo=TOKYO)
    assert at["dec-29-1000"] == datetime(2027, 12, 29, 10, 0, tzinfo=TOKYO)
    assert at["jan-03-2359"] == datetime(2027, 1, 3, 23, 59, tzinfo=TOKYO)
    assert at["feb-29-1000"] == datetime(2028, 2, 29, 10, 0, tzinfo=TOKYO)
