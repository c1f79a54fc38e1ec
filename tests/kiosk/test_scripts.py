"""The named scripts on the whole simulation: real card on pcscd, real center over mutual
TLS, cash devices on ptys, coprocessor firmware, ippeveprinter and the ESC/POS sink. One
simulation for the module; each script gets a fresh kiosk service."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from documents.trust import load_trust
from documents.verify import verify_file
from sim.scripts.runner import Result, run_on
from sim.whole import WholeSim
from tests.clock import service_morning

pytestmark = pytest.mark.skipif(
    shutil.which("pcscd") is None or shutil.which("ippeveprinter") is None,
    reason="needs pcscd and ippeveprinter (tools/apt-packages.txt)",
)


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WholeSim]:
    with WholeSim(tmp_path_factory.mktemp("sim"), clock=service_morning()) as s:
        yield s


def run(sim: WholeSim, name: str, out: Path) -> Result:
    return asyncio.run(run_on(sim, name, out))


def test_happy_path_prints_a_valid_certificate_and_a_receipt(sim: WholeSim, tmp_path: Path
                                                           ) -> None:  # fmt: skip
    paid_out_before = sim.cash.totals()["paid_out"]
    result = run(sim, "happy-path", tmp_path)
    assert result.states[-1] in ("thanks", "idle")
    assert "payment" in result.states and "collect" in result.states
    assert result.pdf is not None and result.receipt is not None and result.trust is not None
    verdict = verify_file(result.pdf.read_bytes(), load_trust(result.trust))
    assert verdict.valid, verdict
    assert result.receipt.stat().st_size > 0
    # 500 yen in for a 200-yen fee: 300 yen of change went out of the hoppers
    assert sim.cash.totals()["paid_out"] - paid_out_before == 300


def test_wrong_pin_then_right(sim: WholeSim, tmp_path: Path) -> None:
    result = run(sim, "wrong-pin", tmp_path)
    assert result.states.count("pin") >= 2 and "certificate" in result.states


def test_blocked_card_gets_a_notice(sim: WholeSim, tmp_path: Path) -> None:
    result = run(sim, "blocked-card", tmp_path)
    assert "notice" in result.states and "certificate" not in result.states


def test_center_refusal_gets_a_notice(sim: WholeSim, tmp_path: Path) -> None:
    result = run(sim, "refusal", tmp_path)
    assert "notice" in result.states and "certificate" not in result.states


def test_cancel_returns_the_money(sim: WholeSim, tmp_path: Path) -> None:
    before = sim.cash.totals()
    result = run(sim, "cancel-refund", tmp_path)
    after = sim.cash.totals()
    assert after["coins_in"] - before["coins_in"] == 100
    assert after["paid_out"] - before["paid_out"] == 100
    assert result.states[-1] in ("thanks", "idle")


def test_paper_out_then_clerk_reprint_without_a_second_fee(sim: WholeSim, tmp_path: Path
                                                           ) -> None:  # fmt: skip
    before = sim.cash.totals()
    jobs_before = len(sim.a4.jobs())
    result = run(sim, "paper-out-reprint", tmp_path)
    after = sim.cash.totals()
    assert "print_failed" in result.states and "clerk" in result.states
    assert after["coins_in"] - before["coins_in"] == 500  # paid once
    assert after["paid_out"] - before["paid_out"] == 300  # the change, nothing more
    jobs = sim.a4.jobs()[jobs_before:]
    assert [j["result"] for j in jobs] == ["paper_out", "completed"]
    assert jobs[0]["name"] == jobs[1]["name"]  # the same certificate number, reprinted
    assert result.pdf is not None and result.trust is not None
    verdict = verify_file(result.pdf.read_bytes(), load_trust(result.trust))
    assert verdict.valid, verdict


def test_center_down_refunds_and_goes_out_of_service(sim: WholeSim, tmp_path: Path) -> None:
    before = sim.cash.totals()
    result = run(sim, "center-down", tmp_path)
    after = sim.cash.totals()
    assert "out_of_service" in result.states
    assert after["coins_in"] - before["coins_in"] == 100
    assert after["paid_out"] - before["paid_out"] == 100
    assert result.pdf is None  # nothing printed
