"""Issue 20's proof, short: `kofu bench kiosk-crash` on the whole simulation (one module
simulation, the kiosk host in its own process), first without a kill (the harness itself:
every citizen made whole, the books agree), then 30 SIGKILLs of the host spread over the
phases of a session, each followed by a restart and a check of what the citizen got."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench import kiosk_crash
from sim.whole import WholeSim
from tests.clock import service_morning

pytestmark = [
    pytest.mark.skipif(
        shutil.which("pcscd") is None or shutil.which("ippeveprinter") is None,
        reason="needs pcscd and ippeveprinter (tools/apt-packages.txt)",
    ),
    pytest.mark.slow,
]
KILLS = 30
SEED = 20


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WholeSim]:
    state = tmp_path_factory.mktemp("crash-sim")
    with WholeSim(state, clock=service_morning(), timeouts=dict(kiosk_crash.TIMEOUTS)) as s:
        yield s


@pytest.fixture(scope="module")
def control(sim: WholeSim, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("crash-control")
    return kiosk_crash.run_on(sim, kiosk_crash.options(["--kills", "0", "-q"]), out)


@pytest.fixture(scope="module")
def crashes(sim: WholeSim, control: dict[str, Any],
            tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:  # fmt: skip
    out = tmp_path_factory.mktemp("crash-kills")
    args = kiosk_crash.options(["--kills", str(KILLS), "--seed", str(SEED), "-q"])
    figures = kiosk_crash.run_on(sim, args, out)
    figures["records"] = str(Path(out) / "sessions.jsonl")
    print(figures)
    return figures


@pytest.mark.timeout(600)
def test_without_a_kill_every_citizen_is_made_whole_and_the_books_agree(
    control: dict[str, Any],
) -> None:
    assert control["sessions"] == 3 and control["kills"] == 0, control
    assert control["made_whole"] == 3, control
    assert control["neither"] == control["both"] == control["short"] == control["over"] == 0
    assert control["ledger_mismatches"] == 0 and control["unprinted_vouchers"] == 0, control
    assert control["cash_report_exit"] == 0, control
    assert control["script_errors"] == 0 and "aborted" not in control, control


@pytest.mark.timeout(3000)
def test_the_harness_kills_the_host_in_every_phase_and_accounts_every_session(
    crashes: dict[str, Any],
) -> None:
    assert "aborted" not in crashes, crashes
    assert crashes["kills"] >= KILLS, crashes
    outcomes = sum(crashes[k] for k in kiosk_crash.OUTCOMES)
    assert outcomes == crashes["sessions"], crashes
    phases = set(crashes["per_phase"]) - {"no_kill", "other"}
    assert len(phases) >= 9, crashes["per_phase"]  # of the 13 aimed at


@pytest.mark.timeout(3000)
def test_after_every_kill_the_citizen_is_made_whole_and_the_books_agree(
    crashes: dict[str, Any],
) -> None:
    assert crashes["made_whole"] == crashes["sessions"], crashes
    assert crashes["neither"] == crashes["both"] == 0, crashes
    assert crashes["unprinted_vouchers"] == 0, crashes
    assert crashes["ledger_mismatches"] == 0, crashes
    assert crashes["cash_report_exit"] == 0, crashes
