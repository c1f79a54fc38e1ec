"""The real page in headless Chromium, tapped like a touch screen, with the session machine
behind the server fed device and center events through the simulation-mode endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import OPEN_NOW, Browsers, SimScreen, screen_server

pytestmark = pytest.mark.slow


def on(page: Any, screen: str) -> Any:
    return page.wait_for_selector(f'#screen[data-screen="{screen}"]', timeout=5000)


def tap(page: Any, testid: str) -> None:
    page.tap(f'[data-testid="{testid}"]')


def text(page: Any, testid: str) -> str:
    result: str = page.inner_text(f'[data-testid="{testid}"]')
    return result


def shot(page: Any, shots: Path, name: str) -> None:
    page.screenshot(path=str(shots / f"{name}.png"))


def enter_pin(page: Any, digits: str) -> None:
    for d in digits:
        tap(page, f"pin-key-{d}")
    page.wait_for_selector(f'[data-testid="pin-dot"].filled >> nth={len(digits) - 1}')
    tap(page, "pin-ok")


def to_pin(page: Any, sim: SimScreen, lang: str = "ja") -> None:
    on(page, "idle")
    tap(page, "start")
    on(page, "language")
    tap(page, f"lang-{lang}")
    on(page, "card")
    sim.inject("CardInserted", tries_left=3)
    on(page, "pin")


def to_certificate(page: Any, sim: SimScreen, lang: str = "ja") -> None:
    to_pin(page, sim, lang)
    enter_pin(page, "7359")
    on(page, "pin_check")
    sim.inject("PinAccepted")
    on(page, "authenticating")
    sim.inject("ChallengeIssued", challenge="01" * 32)
    sim.inject("ChallengeSigned", certificate="aa", signature="bb")
    sim.inject("Authenticated", menu="demo")
    on(page, "certificate")


def to_payment(page: Any, sim: SimScreen, lang: str = "ja") -> None:
    to_certificate(page, sim, lang)
    tap(page, "cert-juminhyo")
    on(page, "subject")
    tap(page, "member-m1")
    tap(page, "next")
    on(page, "options")
    tap(page, "option-household")
    tap(page, "option-my_number")
    tap(page, "next")
    on(page, "my_number_warning")
    tap(page, "warning-ok")
    on(page, "copies")
    tap(page, "copies-2")
    on(page, "quoting")
    sim.inject("QuoteReady", quote={"quote_id": "Q-1", "fee_yen": 400})
    on(page, "fee")
    tap(page, "fee-ok")
    on(page, "payment")


def test_the_fee_screen_says_how_current_the_records_are(page: Any, sim: SimScreen) -> None:
    to_certificate(page, sim)
    tap(page, "cert-juminhyo")
    on(page, "subject")
    tap(page, "member-m1")
    tap(page, "member-m2")
    tap(page, "next")
    on(page, "options")
    tap(page, "next")
    on(page, "copies")
    tap(page, "copies-1")
    on(page, "quoting")
    sim.inject("QuoteReady", quote={"quote_id": "Q-1", "fee_yen": 200})
    on(page, "fee")
    lines = [el.inner_text() for el in page.query_selector_all('[data-testid="as-of"]')]
    assert lines == ["見本 太郎さん: 2026-11-30 現在", "見本 花子さん: 2026-12-01 現在"]
    assert "返金" in text(page, "as-of-note")


def names(actions: list[dict[str, Any]]) -> list[str]:
    return [a["type"] for a in actions]


def test_happy_path_in_japanese(page: Any, sim: SimScreen, shots: Path) -> None:
    on(page, "idle")
    shot(page, shots, "01-idle")
    to_pin(page, sim)
    assert text(page, "tries-left") == "残り 3 回"
    tap(page, "pin-key-7")
    tap(page, "pin-key-3")
    page.wait_for_selector('[data-testid="pin-dot"].filled >> nth=1')
    assert page.locator('[data-testid="pin-dot"].filled').count() == 2
    assert "7" not in page.inner_text("#screen .dots")  # masked: dots only
    shot(page, shots, "02-pin")
    tap(page, "pin-clear")
    page.wait_for_function("document.querySelectorAll('.dot.filled').length === 0")
    enter_pin(page, "7359")
    on(page, "pin_check")
    assert page.is_visible('[data-testid="spinner"]')
    sim.inject("PinAccepted")
    on(page, "authenticating")
    shot(page, shots, "03-authenticating")
    sim.inject("ChallengeIssued", challenge="01" * 32)
    sim.inject("ChallengeSigned", certificate="aa", signature="bb")
    sim.inject("Authenticated", menu="demo")
    on(page, "certificate")
    shot(page, shots, "04-certificate")
    assert "住民票の写し" in page.inner_text("#screen")
    tap(page, "cert-juminhyo")
    on(page, "subject")
    shot(page, shots, "05-subject")
    tap(page, "member-m1")
    tap(page, "next")
    on(page, "options")
    assert page.locator('[data-testid="option-honseki"]').count() == 1
    assert page.locator('[data-testid="option-nationality"]').count() == 0
    tap(page, "option-my_number")
    shot(page, shots, "06-options")
    tap(page, "next")
    on(page, "my_number_warning")
    shot(page, shots, "07-my-number-warning")
    tap(page, "warning-ok")
    on(page, "copies")
    tap(page, "copies-2")
    on(page, "quoting")
    sim.inject("QuoteReady", quote={"quote_id": "Q-1", "fee_yen": 400})
    on(page, "fee")
    assert text(page, "fee-total") == "合計 400 円"
    shot(page, shots, "08-fee")
    tap(page, "fee-ok")
    on(page, "payment")
    sim.inject("MoneyInserted", total_yen=100)
    page.wait_for_selector('[data-testid="pay-remaining"]:has-text("300 円")')
    shot(page, shots, "09-payment")
    sim.inject("MoneyInserted", total_yen=1100)
    sim.inject("PaymentComplete", paid_yen=1100, change_yen=700)
    on(page, "issuing")
    sim.inject("Issued", documents=2)
    on(page, "printing")
    sim.inject("PrintProgress", page=1, pages=2)
    page.wait_for_selector('[data-testid="pages"]:has-text("1 / 2")')
    shot(page, shots, "10-printing")
    sim.inject("Printed")
    on(page, "collect")
    shot(page, shots, "11-collect")
    sim.inject("CardRemoved")
    on(page, "thanks")
    acts = names(sim.actions())
    for expected in (
        "WaitForCard",
        "VerifyPin",
        "RequestChallenge",
        "SignChallenge",
        "Authenticate",
        "RequestQuote",
        "StartPayment",
        "Issue",
        "PrintDocuments",
        "PrintReceipt",
    ):
        assert expected in acts
    assert [a for a in sim.actions() if a["type"] == "StartPayment"] == [
        {"type": "StartPayment", "fee_yen": 400}
    ]
    sim.inject("Timeout")
    on(page, "idle")
    print(f"\nscreenshots: {shots}")


def test_wrong_pin_then_right_shows_tries_left(page: Any, sim: SimScreen, shots: Path) -> None:
    to_pin(page, sim)
    enter_pin(page, "1111")
    on(page, "pin_check")
    sim.inject("PinWrong", tries_left=2)
    on(page, "pin")
    page.wait_for_selector('[data-testid="pin-wrong"]')
    assert text(page, "tries-left") == "残り 2 回"
    assert page.locator('[data-testid="pin-dot"].filled').count() == 0
    shot(page, shots, "12-pin-wrong")
    enter_pin(page, "7359")
    on(page, "pin_check")
    sim.inject("PinAccepted")
    on(page, "authenticating")


def test_blocked_card_tells_where_to_go(page: Any, sim: SimScreen, shots: Path) -> None:
    to_pin(page, sim)
    enter_pin(page, "1111")
    sim.inject("PinWrong", tries_left=0)
    on(page, "notice")
    assert "窓口" in text(page, "notice") and "ロック" in text(page, "notice")
    shot(page, shots, "13-blocked")
    tap(page, "notice-ok")
    on(page, "left_behind_screen")  # the card is still on the reader
    sim.inject("CardRemoved")
    on(page, "idle")


@pytest.mark.parametrize(
    ("reason", "words"),
    [("under_15", "15歳"), ("moved_out", "転出"), ("character_limit", "文字数")],
)
def test_refusals_are_explained_plainly(page: Any, sim: SimScreen, reason: str, words: str) -> None:
    to_pin(page, sim)
    enter_pin(page, "7359")
    sim.inject("PinAccepted")
    sim.inject("Refused", reason=reason)
    on(page, "notice")
    assert words in text(page, "notice")
    assert "窓口" in text(page, "counter")


@pytest.mark.parametrize(
    ("reason", "says", "advice"),
    [
        ("out_of_hours", "時間外", "ご利用時間内"),  # not "under maintenance"
        ("maintenance", "保守", "しばらくしてから"),
        ("certificate_expired", "有効期限", "電子証明書の更新"),
        ("card_not_yet_usable", "翌日から", "翌日以降"),
    ],
)
def test_refusals_say_where_to_go(
    page: Any, sim: SimScreen, reason: str, says: str, advice: str
) -> None:
    to_pin(page, sim)
    enter_pin(page, "7359")
    sim.inject("PinAccepted")
    sim.inject("Refused", reason=reason)
    on(page, "notice")
    assert says in text(page, "notice")
    assert advice in text(page, "counter") and "窓口でお手続き" not in text(page, "counter")


def test_cancel_during_payment_returns_the_money(page: Any, sim: SimScreen, shots: Path) -> None:
    to_payment(page, sim)
    sim.inject("MoneyInserted", total_yen=300)
    page.wait_for_selector('[data-testid="pay-inserted"]:has-text("300 円")')
    tap(page, "cancel")
    on(page, "refunding")
    assert "300 円" in text(page, "refund")
    shot(page, shots, "14-refunding")
    refunds = [a for a in sim.actions() if a["type"] == "Refund"]
    assert refunds == [{"type": "Refund", "amount_yen": 300}]
    assert "StopPayment" in names(sim.actions())
    sim.inject("RefundDone", refunded_yen=300)
    on(page, "collect")  # the citizen is here: told what came back, no left-behind alarm
    assert "300 円" in text(page, "tray-money")
    sim.inject("CardRemoved")
    on(page, "thanks")


@pytest.mark.parametrize("screen", ["card", "pin", "certificate", "fee"])
def test_cancel_at_each_step_before_payment(page: Any, sim: SimScreen, screen: str) -> None:
    to_pin(page, sim) if screen != "card" else (
        on(page, "idle"),
        tap(page, "start"),
        on(page, "language"),
        tap(page, "lang-ja"),
    )
    if screen in ("certificate", "fee"):
        enter_pin(page, "7359")
        sim.inject("PinAccepted")
        sim.inject("Authenticated", menu="demo")
    if screen == "fee":
        on(page, "certificate")
        tap(page, "cert-inkan")
        on(page, "copies")
        tap(page, "copies-1")
        sim.inject("QuoteReady", quote={"quote_id": "Q-2", "fee_yen": 200})
    on(page, screen)
    tap(page, "cancel")
    on(page, "idle" if screen == "card" else "left_behind_screen")
    assert "Refund" not in names(sim.actions())


def test_center_down_during_issue_refunds_and_goes_out_of_service(
    page: Any, sim: SimScreen, shots: Path
) -> None:
    to_payment(page, sim)
    sim.inject("PaymentComplete", paid_yen=400, change_yen=0)
    on(page, "issuing")
    sim.inject("CenterUnavailable")
    on(page, "refunding")
    assert "証明書センター" in text(page, "notice")
    sim.inject("RefundDone", refunded_yen=400)
    sim.inject("CardRemoved")
    on(page, "out_of_service")
    shot(page, shots, "15-out-of-service")
    sim.inject("DeviceHealth", device="center", ok=True)
    on(page, "idle")


def test_paper_out_then_clerk_reprint_without_second_fee(
    page: Any, sim: SimScreen, shots: Path
) -> None:
    to_payment(page, sim)
    sim.inject("PaymentComplete", paid_yen=400, change_yen=0)
    sim.inject("Issued", documents=1)
    on(page, "printing")
    sim.inject("PrintFailed", reason="media-empty")
    on(page, "print_failed")
    shot(page, shots, "16-print-failed")
    tap(page, "clerk-key")
    on(page, "clerk_pin")
    assert page.locator('[data-testid="pin-dot"]').count() == 6  # a clerk PIN: 6 to 12 digits
    for d in "0000":
        tap(page, f"pin-key-{d}")
    page.wait_for_selector('[data-testid="pin-dot"].filled >> nth=3')
    assert page.is_disabled('[data-testid="pin-ok"]')  # four digits are not enough
    tap(page, "pin-clear")
    page.wait_for_selector('[data-testid="pin-dot"].filled', state="detached")
    enter_pin(page, "00000000")
    on(page, "clerk_check")
    sim.inject("ClerkPinChecked", ok=False, locked=True)  # the clerk port: locked out
    on(page, "clerk_pin")
    page.wait_for_selector('[data-testid="error"]:not([hidden])')
    assert "ロック" in text(page, "error")
    enter_pin(page, "000000")
    on(page, "clerk_check")
    sim.inject("ClerkPinChecked", ok=True, clerk="c01")
    on(page, "clerk")
    assert "1" in text(page, "reprint-pending")
    shot(page, shots, "17-clerk")
    tap(page, "clerk-reprint")
    page.wait_for_function(
        "fetch('/dev/actions').then(r => r.json()).then(a => a.some(x => x.type === 'Reprint'))"
    )
    sim.inject("Printed")
    sim.inject("DeviceHealth", device="printer", ok=True)
    tap(page, "clerk-exit")
    sim.inject("CardRemoved")
    on(page, "idle")
    assert names(sim.actions()).count("StartPayment") == 1


def test_walk_away_escalates_until_items_taken(page: Any, sim: SimScreen, shots: Path) -> None:
    to_payment(page, sim)
    sim.inject("PaymentComplete", paid_yen=1000, change_yen=600)
    sim.inject("Issued", documents=1)
    sim.inject("Printed")
    sim.inject("OutputTray", occupied=True)
    sim.inject("ChangeTray", occupied=True)
    on(page, "collect")
    sim.inject("Timeout")
    on(page, "left_behind_screen")
    for item in ("card", "pages", "change"):
        assert page.is_visible(f'[data-testid="item-{item}"]')
    sim.inject("Timeout")
    on(page, "left_behind_voice")
    sim.inject("Timeout")
    on(page, "left_behind_alarm")
    shot(page, shots, "18-left-behind")
    assert "SoundAlarm" in names(sim.actions())
    sim.inject("CardRemoved")
    sim.inject("OutputTray", occupied=False)
    sim.inject("ChangeTray", occupied=False)
    on(page, "idle")
    assert "StopAlarm" in names(sim.actions())


def test_closed_screen_outside_hours(page: Any, sim: SimScreen, shots: Path) -> None:
    sim.inject("Tick", now="2026-11-24T23:30:00+09:00")
    on(page, "closed")
    assert "6:30" in text(page, "closed") or "6:30" in page.inner_text("#screen")
    shot(page, shots, "19-closed")
    sim.inject("Tick", now="2026-12-30T12:00:00+09:00")
    on(page, "closed")
    sim.inject("Tick", now="2026-11-25T06:30:00+09:00")
    on(page, "idle")


@pytest.mark.parametrize("lang", ["en", "zh", "ko", "pt", "es", "vi"])
def test_main_path_in_each_language(page: Any, sim: SimScreen, shots: Path, lang: str) -> None:
    to_payment(page, sim, lang)
    body = page.inner_text("#app")
    assert "payment." not in body and "fee." not in body  # no raw keys: every text found
    shot(page, shots, f"20-payment-{lang}")


def test_bad_screen_message_is_refused_and_loses_nothing(page: Any, sim: SimScreen) -> None:
    to_certificate(page, sim)
    page.evaluate("() => S.ws.send(JSON.stringify({event: 'certificate', kind: 'nope'}))")
    page.wait_for_selector('[data-testid="error"]:not([hidden])')
    assert "受け付け" in text(page, "error")
    assert sim.state()["dump"]["state"] == "certificate"
    tap(page, "cert-inkan")
    on(page, "copies")


def test_dev_endpoint_refuses_unknown_and_pin_events(sim: SimScreen) -> None:
    import urllib.error

    for body in ({"type": "Nope"}, {"type": "PinEntered"}, {"type": "CardInserted", "x": 1}):
        with pytest.raises(urllib.error.HTTPError) as info:
            sim._call("POST", "/dev/events", body)
        assert info.value.code == 422


# --- walking away with real timers ---------------------------------------------------------
# The runner's own timers, not injected timeouts, end the session and escalate the alarm
# (timeouts scaled down to fractions of a second). Same module: it shares the browser.


@pytest.fixture(scope="module")
def fast() -> Iterator[SimScreen]:
    # 0.02 x the defaults: 60 s -> 1.2 s on the card screen, 15 s -> 0.3 s per alarm step.
    with screen_server("--now", OPEN_NOW, "--timeout-scale", "0.02") as server:
        yield server


def wait_state(sim: SimScreen, state: str, page: Any) -> None:
    page.wait_for_function(
        f"fetch('/dev/state').then(r => r.json()).then(s => s.dump.state === '{state}')",
        polling=100,
        timeout=8000,
    )


def test_walking_away_at_the_pin_pad_escalates_until_the_card_is_taken(
    browser: Browsers, fast: SimScreen
) -> None:
    fast.reset()
    ctx = browser.new_context()
    page = ctx.new_page()
    try:
        page.goto(fast.page_url)
        page.wait_for_selector('body[data-ready="1"]')
        page.tap('[data-testid="start"]')
        page.tap('[data-testid="lang-ja"]')
        fast.inject("CardInserted", tries_left=3)
        # Nobody touches the PIN pad: the PIN screen times out by itself (60 s x 0.02).
        wait_state(fast, "left_behind_screen", page)
        page.wait_for_selector('#screen[data-screen^="left_behind"] [data-testid="item-card"]')
        wait_state(fast, "left_behind_alarm", page)  # screen -> voice -> alarm on timers
        page.wait_for_function(
            "fetch('/dev/actions').then(r => r.json())"
            ".then(a => a.some(x => x.type === 'SoundAlarm'))",
            polling=100,
            timeout=5000,
        )
        fast.inject("CardRemoved")
        page.wait_for_selector('#screen[data-screen="idle"]')
        page.wait_for_function(
            "fetch('/dev/actions').then(r => r.json())"
            ".then(a => a.some(x => x.type === 'StopAlarm'))",
            polling=100,
            timeout=5000,
        )
    finally:
        ctx.close()
