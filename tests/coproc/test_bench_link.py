"""`kofu bench link` runs and reports every figure; nothing lost or duplicated. (It checks
the benchmark works; the figures themselves are measured by running it, not asserted.)"""

from __future__ import annotations

import json

import pytest

from bench import link


def test_bench_link_short_run(capsys: pytest.CaptureFixture[str]) -> None:
    rc = link.main(["--seconds", "1", "--rounds", "1", "--door-samples", "3"])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rc == 0
    for key in ("efficiency", "latency_p50_ms", "latency_p99_ms", "goodput_clean_msgs_s",
                "goodput_faulty_ratio", "firmware_event_p50_ms"):
        assert result[key] > 0, key
    assert 0 < result["efficiency"] < 1
    assert result["lost"] == 0 and result["duplicated"] == 0
