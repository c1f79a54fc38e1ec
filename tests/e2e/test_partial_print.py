"""Print failures reprint only what failed (issue 14, D4), on the whole `kofu sim`: three
copies, the paper runs out after copy 2; the center marks copies 1–2 printed and copy 3
failed; the clerk's reprint before the printer is serviced leaves copy 3 failed at the
center and on the clerk's list while the kiosk serves the next citizen; after service the
clerk reprints copy 3 alone, same number, no fee."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.e2e.harness import CLERK_PIN, Kiosk, SimProcess, kofu, needs_sim
from tests.e2e.test_certificates import verify
from tests.e2e.test_sessions import JA, journal_report, ledger

pytestmark = needs_sim

PRINT_ACTIONS = ("print_ok", "print_failed", "clerk_reprint")


def print_trail(sim: SimProcess, number: str) -> list[str]:
    """The center's audit actions for one certificate, oldest first (`kofu center admin
    audit show`): print_ok / print_failed / clerk_reprint are its print status history."""
    done = kofu("center", "admin", "--state", str(sim.state / "center"), "audit", "show",
                "--limit", "1000000")  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    return [
        str(e["action"])
        for e in lines
        if e["certificate_number"] == number and e["action"] in PRINT_ACTIONS
    ]


def clerk_in(k: Kiosk) -> None:
    k.tap("clerk-key")
    k.on("clerk_pin")
    k.enter_pin(CLERK_PIN)
    k.on("clerk")


def pending_is(k: Kiosk, n: int, timeout: float = 60) -> None:
    text = JA["clerk.reprint_pending"].format(n=n)
    k.page.wait_for_selector(f'[data-testid="reprint-pending"]:text-is("{text}")',
                             timeout=timeout * 1000)  # fmt: skip


def test_paper_out_after_copy_2_of_3_reprints_copy_3_alone_and_only_once_serviced(
    main_sim: SimProcess, kiosk_on: Callable[..., Kiosk], tmp_path: Path
) -> None:
    k = kiosk_on(main_sim)
    before = main_sim.outputs()
    report0 = journal_report(main_sim)
    trust = main_sim.trust(tmp_path / "trust.json")
    try:
        k.login("valid")
        k.tap("cert-juminhyo")
        k.on("subject")
        k.tap_text("member-", "桜井 太郎")
        k.tap("next")
        k.on("options")
        k.tap("next")
        k.on("copies")
        k.tap("copies-3")
        k.on("fee")
        k.tap("fee-ok")
        k.on("payment")
        # one job per copy, one sheet each: the tray holds two sheets
        main_sim.act("paper_out", after_sheets=2, across_jobs=True)
        k.insert(500, 100)
        k.on("print_failed", timeout=90)
        assert k.text("notice") == JA["print_failed.body"]

        mid = main_sim.outputs()
        first = [Path(p) for p in mid["printed"] if p not in before["printed"]]
        numbers = [verify(p, trust)["document"]["certificate_number"] for p in first]
        assert len(numbers) == 2, numbers  # copies 1 and 2 came out
        issued = [r["certificate_number"] for r in ledger(main_sim) if r["kind"] == "issue"]
        assert set(numbers) < set(issued[-3:])  # this session's three copies
        [copy3] = [n for n in issued[-3:] if n not in numbers]
        for n in numbers:
            assert print_trail(main_sim, n) == ["print_ok"]
        assert print_trail(main_sim, copy3) == ["print_failed"]

        # the clerk tries before fixing the printer: nothing printed, copy 3 still failed
        clerk_in(k)
        pending_is(k, 1)
        assert k.text("reprint-numbers") == copy3
        k.tap("clerk-reprint")
        k.page.wait_for_selector(f'#error:text-is("{JA["error.reprint_failed"]}")',
                                 timeout=60_000)  # fmt: skip
        pending_is(k, 1)
        assert print_trail(main_sim, copy3)[-1] == "print_failed"
        assert "clerk_reprint" not in print_trail(main_sim, copy3)
        # the clerk leaves it for later: the kiosk no longer asks every citizen for a clerk
        k.tap("clerk-exit")
        k.take_everything()
        k.on("out_of_service", timeout=60)  # the printer is still out of paper
        main_sim.act("printer_serviced")
        k.on("idle", timeout=60)

        # serviced: the clerk reprints copy 3 alone, no fee
        clerk_in(k)
        pending_is(k, 1)
        k.tap("clerk-reprint")
        pending_is(k, 0)
        k.tap("clerk-exit")
        k.take_everything()
        k.on("idle", "thanks")
    finally:
        main_sim.act("printer_serviced")  # never leave a faulted printer to the next test

    after = main_sim.outputs()
    new = [Path(p) for p in after["printed"] if p not in mid["printed"]]
    assert [verify(p, trust)["document"]["certificate_number"] for p in new] == [copy3]
    assert print_trail(main_sim, copy3) == ["print_failed", "clerk_reprint", "print_ok"]
    rows = [r for r in ledger(main_sim) if r["certificate_number"] in (*numbers, copy3)]
    assert sorted((r["certificate_number"], r["kind"], int(r["fee"])) for r in rows) == sorted(
        [(n, "issue", 200) for n in (*numbers, copy3)] + [(copy3, "reprint", 0)]
    )
    report = journal_report(main_sim)
    assert report["fees_captured"] - report0["fees_captured"] == 600  # once, for 3 copies
    assert report["balanced"] and not report["open_transactions"], report
