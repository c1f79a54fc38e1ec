"""The session benchmark runs and prints one JSON object as its last line (figures are not
asserted: speed is measured by running it, not by tests)."""

from __future__ import annotations

import json

import pytest

from bench import session_core as bench


def test_bench_prints_one_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--sessions", "3"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    result = json.loads(last)
    assert result["sessions"] == 3 and result["events_per_session"] == 26
    assert set(result) >= {"machine_session_ms_p50", "runner_session_ms_p50", "host_rss_mb"}
