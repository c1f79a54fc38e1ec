"""`kofu bench link --line-rate` runs each fault profile through the paced fault line and
reports its figures; nothing is lost or duplicated. (The figures themselves are measured by
running the benchmark, not asserted here.)"""

from __future__ import annotations

import json

import pytest

from bench import link


def test_line_rate_mode_reports_every_profile(capsys: pytest.CaptureFixture[str]) -> None:
    rc = link.main(["--line-rate", "--seconds", "1", "--profiles", "clean,mixed5"])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rc == 0
    assert result["baud"] == 115200
    for name in ("clean", "mixed5"):
        run = result[name]
        for key in ("msgs_per_s", "efficiency", "spurious_retransmissions", "lost", "duplicated"):
            assert key in run, (name, key)
        assert run["msgs_per_s"] > 0 and 0 < run["efficiency"] < 1
        assert run["lost"] == 0 and run["duplicated"] == 0
    assert result["mixed5"]["retransmissions"] > 0  # the faults were there and recovered from
