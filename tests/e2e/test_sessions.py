"""Sessions that do not end in a plain purchase, on the whole `kofu sim` with the real
screen: PIN mistakes, blocked cards, every refusal rule the demo residents exercise,
cancelling at every step with the money returned, paper-out with the clerk's reprint, and
the center going away while the kiosk issues."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import CARD_PIN, CLERK_PIN, Kiosk, SimProcess, kofu, needs_sim

pytestmark = needs_sim

JA = json.loads((Path(__file__).resolve().parents[2] / "host/i18n/ja.json").read_text("utf-8"))


def journal_report(sim: SimProcess) -> dict[str, Any]:
    """`kofu cash report --json` on the kiosk's cash journal, as the clerk would run it."""
    done = kofu("cash", "report", "--journal", sim.outputs()["journal"], "--json")
    assert done.returncode in (0, 1), done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def notice_is(k: Kiosk, key: str) -> None:
    k.on("notice")
    assert k.text("notice") == JA[f"notice.{key}"]


# --- PIN and card ------------------------------------------------------------------------


def test_wrong_pin_then_right(main_sim: SimProcess, kiosk_on: Callable[..., Kiosk]) -> None:
    k = kiosk_on(main_sim)
    k.start("valid")
    k.on("pin")
    assert k.text("tries-left") == JA["pin.tries_left"].format(n=3)
    k.enter_pin("0000")
    k.page.wait_for_selector('[data-testid="pin-wrong"]', timeout=20_000)
    assert k.text("tries-left") == JA["pin.tries_left"].format(n=2)
    k.enter_pin(CARD_PIN)
    k.on("certificate")
    k.tap("cancel")
    k.sim.act("remove_card")
    k.on("idle", "thanks")


def test_last_try_wrong_blocks_the_card(
    main_sim: SimProcess, kiosk_on: Callable[..., Kiosk]
) -> None:
    k = kiosk_on(main_sim)
    k.start("one-try-left")
    k.on("pin")
    assert k.text("tries-left") == JA["pin.tries_left"].format(n=1)
    k.enter_pin("0000")
    notice_is(k, "card_blocked")
    # the card stays the citizen's (a contactless reader keeps nothing): take it, OK
    k.sim.act("remove_card")
    k.tap("notice-ok")
    k.on("idle", "thanks")
    k.on("idle")
    # the same card again: blocked at once, no PIN pad
    k.start("one-try-left")
    notice_is(k, "card_blocked")


def test_blocked_card(main_sim: SimProcess, kiosk_on: Callable[..., Kiosk]) -> None:
    k = kiosk_on(main_sim)
    k.start("blocked")
    notice_is(k, "card_blocked")
    k.sim.act("remove_card")
    k.tap("notice-ok")
    k.on("idle", "thanks")


@pytest.mark.parametrize(
    ("persona", "notice"),
    [
        ("not-jpki", "card_not_my_number_card"),
        ("no-cert", "card_no_user_certificate"),
    ],
)
def test_card_refused_on_the_reader(
    persona: str, notice: str, main_sim: SimProcess, kiosk_on: Callable[..., Kiosk]
) -> None:
    k = kiosk_on(main_sim)
    k.start(persona)
    k.on("notice", timeout=4)
    assert k.text("notice") == JA[f"notice.{notice}"]


# One card persona per SPEC §3 rule (sim/card/personas.py, registered by `kofu sim`).
REFUSALS = {
    "under-15": "under_15",
    "not-registered": "not_registered",
    "moved-out": "moved_out",
    "move-out-filed": "move_out_filed",
    "support-measures": "support_measures",
    "deceased": "deceased",
    "character-limit": "character_limit",
    "moved-in-today": "moved_in_today",
    "gaiji-pending": "gaiji_pending",
    "expired": "certificate_expired",
    "revoked": "certificate_revoked",
}
# Where the screen sends the citizen when the counter cannot help (else: the counter).
ADVICE = {
    "moved_in_today": "notice.advice_tomorrow",
    "certificate_expired": "notice.advice_renew_certificate",
    "certificate_revoked": "notice.advice_renew_certificate",
}


@pytest.mark.parametrize("persona", list(REFUSALS))
def test_refusal(persona: str, main_sim: SimProcess, kiosk_on: Callable[..., Kiosk]) -> None:
    k = kiosk_on(main_sim)
    k.start(persona)
    k.on("pin")
    k.enter_pin(CARD_PIN)
    notice_is(k, f"refusal_{REFUSALS[persona]}")
    advice = ADVICE.get(REFUSALS[persona], "notice.counter")
    assert k.text("counter") == JA[advice]
    k.sim.act("remove_card")
    k.tap("notice-ok")
    k.on("idle", "thanks")


def test_fifteen_today_is_served(main_sim: SimProcess, kiosk_on: Callable[..., Kiosk]) -> None:
    k = kiosk_on(main_sim)
    k.login("turning-15")
    assert JA["cert.juminhyo"] in k.text()


# --- cancel at every step ----------------------------------------------------------------


def to_step(k: Kiosk, step: str) -> None:
    """From idle to ``step`` (a 住民票 of the valid card's household: every screen)."""
    k.on("idle")
    k.tap("start")
    k.on("language")
    if step == "language":
        return
    k.tap("lang-ja")
    k.on("card")
    if step == "card":
        return
    k.sim.act("place_card", persona="valid")
    k.on("pin")
    if step == "pin":
        return
    k.enter_pin(CARD_PIN)
    k.on("certificate")
    if step == "certificate":
        return
    if step == "fiscal_year":
        k.tap("cert-shotoku")
        k.on("fiscal_year")
        return
    k.tap("cert-juminhyo")
    k.on("subject")
    if step == "subject":
        return
    k.tap_text("member-", "桜井 太郎")
    k.tap("next")
    k.on("options")
    if step == "options":
        return
    k.tap("option-my_number")
    k.tap("next")
    k.on("my_number_warning")
    if step == "my_number_warning":
        return
    k.tap("warning-ok")
    k.on("copies")
    if step == "copies":
        return
    k.tap("copies-2")
    k.on("fee")
    if step == "fee":
        return
    k.tap("fee-ok")
    k.on("payment")


# Every screen with a cancel button, less those whose cancel row is the same generated
# table row as a neighbour's (certificate, options, fiscal year, copies: tests/session
# covers the table).
CANCEL_STEPS = [
    "language", "card", "pin", "subject", "my_number_warning", "fee",
]  # fmt: skip


@pytest.mark.parametrize("step", CANCEL_STEPS)
def test_cancel(step: str, main_sim: SimProcess, kiosk_on: Callable[..., Kiosk]) -> None:
    k = kiosk_on(main_sim)
    to_step(k, step)
    k.tap("cancel")
    if step not in ("language", "card"):
        k.sim.act("remove_card")
    k.on("idle", "thanks")
    assert main_sim.wait_state("idle") == "idle"


def test_cancel_while_paying_returns_the_money(
    main_sim: SimProcess, kiosk_on: Callable[..., Kiosk]
) -> None:
    k = kiosk_on(main_sim)
    before = main_sim.outputs()
    report0 = journal_report(main_sim)
    to_step(k, "payment")  # 2 copies: 400 yen
    k.insert(100, 100, 50, 10)
    k.paid_so_far(260)
    k.tap("cancel")
    k.on("refunding", "collect", "left_behind_screen", "thanks", "idle")
    after = main_sim.wait_outputs(
        lambda out: out["cash"]["paid_out"] - before["cash"]["paid_out"] >= 260
    )
    # everything came back out of the hoppers: 260 yen, nothing kept
    assert after["cash"]["paid_out"] - before["cash"]["paid_out"] == 260
    assert after["cash"]["coins_in"] - before["cash"]["coins_in"] == 260
    assert not [p for p in after["printed"] if p not in before["printed"]]
    k.take_everything()
    k.on("idle", "thanks")
    main_sim.wait_state("idle")
    report = journal_report(main_sim)
    assert report["balanced"], report
    assert report["money_in"] - report0["money_in"] == 260
    assert report["paid_out"] - report0["paid_out"] == 260
    assert report["fees_captured"] == report0["fees_captured"]
    assert not report["open_transactions"]


# --- paper out, clerk reprint --------------------------------------------------------------


def ledger(sim: SimProcess) -> list[dict[str, str]]:
    """The center's ledger for the demo city today (`kofu center admin ledger`)."""
    done = kofu("center", "admin", "--state", str(sim.state / "center"), "ledger",
                "--municipality", "999001")  # fmt: skip
    assert done.returncode == 0, done.stderr
    return list(csv.DictReader(io.StringIO(done.stdout)))


def test_paper_out_mid_print_then_clerk_reprint_without_second_fee(
    main_sim: SimProcess, kiosk_on: Callable[..., Kiosk], tmp_path: Path
) -> None:
    from tests.e2e.test_certificates import verify

    k = kiosk_on(main_sim)
    before = main_sim.outputs()
    report0 = journal_report(main_sim)
    k.login("valid")
    k.tap("cert-juminhyo")
    k.on("subject")
    k.tap_text("member-", "桜井 太郎")
    k.tap("next")
    k.on("options")
    k.tap("next")
    k.on("copies")
    k.tap("copies-1")
    k.on("fee")
    k.tap("fee-ok")
    k.on("payment")
    # The sim's faults are per print job and each copy is one job of one sheet: the paper
    # runs out as this job starts (a fault after N sheets needs an N+1-sheet document).
    main_sim.act("paper_out", after_sheets=0)
    k.insert(500)
    k.on("print_failed", timeout=90)
    assert k.text("notice") == JA["print_failed.body"]
    mid = main_sim.outputs()
    assert mid["printed"] == before["printed"]
    # the clerk: refills the paper, opens the clerk menu, reprints (no fee)
    main_sim.act("printer_serviced")
    k.tap("clerk-key")
    k.on("clerk_pin")
    k.enter_pin(CLERK_PIN)
    k.on("clerk")
    assert k.text("reprint-pending") == JA["clerk.reprint_pending"].format(n=1)
    k.tap("clerk-reprint")
    k.page.wait_for_selector(
        f'[data-testid="reprint-pending"]:text-is("{JA["clerk.reprint_pending"].format(n=0)}")',
        timeout=60_000,
    )
    k.tap("clerk-exit")
    k.take_everything()
    k.on("idle", "thanks")
    after = main_sim.outputs()

    trust = main_sim.trust(tmp_path / "trust.json")
    pdfs = [Path(p) for p in after["printed"] if p not in before["printed"]]
    numbers = [verify(p, trust)["document"]["certificate_number"] for p in pdfs]
    assert len(numbers) == 1, numbers
    reprinted = numbers[0]
    # one fee: the journal captured 200 yen once, the center's ledger shows the reprint free
    report = journal_report(main_sim)
    assert report["fees_captured"] - report0["fees_captured"] == 200
    assert report["balanced"] and not report["open_transactions"], report
    rows = [r for r in ledger(main_sim) if r.get("certificate_number") == reprinted]
    assert sorted((r["kind"], int(r["fee"])) for r in rows) == [("issue", 200), ("reprint", 0)]


# --- the center goes away ------------------------------------------------------------------


def test_center_outage_during_issue_refunds_and_closes_until_back(
    main_sim: SimProcess, kiosk_on: Callable[..., Kiosk]
) -> None:
    k = kiosk_on(main_sim)
    before = main_sim.outputs()
    report0 = journal_report(main_sim)
    to_step(k, "payment")  # 400 yen
    k.insert(100)
    k.paid_so_far(100)
    main_sim.act("center_outage")
    try:
        # 500 yen covers the fee: the kiosk asks the center to issue, and cannot. Unless its
        # center watcher saw the outage first: then it refunds at once and the coin is not
        # taken (the acceptor is shut). Either way all that was paid comes back.
        refund = 600 if k.try_coin(500, within=5) else 100
        k.on("refunding", "notice", "left_behind_screen", "out_of_service", timeout=60)
        after = main_sim.wait_outputs(
            lambda out: out["cash"]["paid_out"] - before["cash"]["paid_out"] >= refund, timeout=60
        )
        assert after["cash"]["paid_out"] - before["cash"]["paid_out"] == refund
        k.take_everything()
        if k.screen() == "notice":
            k.tap("notice-ok")
        k.on("out_of_service", timeout=60)
        assert k.text("oos") == JA["oos.title"]
        assert not [p for p in after["printed"] if p not in before["printed"]]
    finally:
        main_sim.act("center_back")
    k.on("idle", timeout=60)
    report = journal_report(main_sim)
    assert report["fees_captured"] == report0["fees_captured"]
    assert report["paid_out"] - report0["paid_out"] == refund
    assert report["balanced"] and not report["open_transactions"], report
