"""What a citizen reads about their order and their money, in their own language, to the end
(issue 16, items 1-3): the order check before paying, the change and refund told in yen, the
collect list following what is really left, and the language kept through the left-behind
escalation while the clerk screens stay in the clerk's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import SimScreen
from .test_screen import enter_pin, on, shot, tap, text, to_certificate, to_pin

pytestmark = pytest.mark.slow


def rows(page: Any) -> dict[str, str]:
    """The order check as the citizen reads it: label -> what is ordered."""
    out: dict[str, str] = {}
    for tr in page.query_selector_all("table.order tr"):
        out[tr.query_selector("th").inner_text()] = tr.query_selector("td").inner_text()
    return out


def items(page: Any) -> list[str]:
    return [el.get_attribute("data-testid") for el in page.query_selector_all(".items .item")]


def lowest_edge(page: Any) -> float:
    """Where the screen's content ends (the footer with its buttons starts at 800 - 116)."""
    js = "s => Math.max(...[...s.querySelectorAll('*')].map(e => e.getBoundingClientRect().bottom))"
    result: float = page.eval_on_selector("#screen", js)
    return result


def watch_screens(page: Any) -> None:
    """Record every screen the page shows, however briefly (a flash included)."""
    page.evaluate(
        """() => {
          window.seen = [];
          const el = document.querySelector('#screen');
          new MutationObserver(() => window.seen.push(el.dataset.screen + '|' + el.innerText))
            .observe(el, { childList: true, subtree: true, attributes: true });
        }"""
    )


def seen(page: Any) -> list[str]:
    result: list[str] = page.evaluate("window.seen")
    return result


def to_juminhyo_fee(page: Any, sim: SimScreen, lang: str = "ja") -> None:
    to_certificate(page, sim, lang)
    tap(page, "cert-juminhyo")
    on(page, "subject")
    tap(page, "member-m1")
    tap(page, "member-m2")
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


def test_the_fee_screen_is_a_full_order_check_with_a_way_back(
    page: Any, sim: SimScreen, shots: Path
) -> None:
    to_juminhyo_fee(page, sim)
    shot(page, shots, "order-check-ja")
    order = rows(page)
    assert order["証明書"] == "住民票の写し"
    assert order["対象の方"].splitlines() == ["見本 太郎さん（ご本人）", "見本 花子さん"]
    assert order["記載する項目"] == "世帯主・続柄"
    assert order["個人番号"] == "記載する — 他人に見せないでください"
    assert order["発行する市区町村"] == "桜ヶ丘市"
    assert order["通数"].startswith("2 通")
    assert "見本 花子さん: 2026-12-01 現在" in text(page, "order-as-of")
    assert text(page, "fee-total") == "合計 400 円"
    assert "返金" in text(page, "no-refund")
    # 個人番号 included stands out: its own row, in the alert colour, larger than the rest
    mine = page.eval_on_selector(
        '[data-testid="order-my-number"] td',
        "td => [getComputedStyle(td).color, parseFloat(getComputedStyle(td).fontSize)]",
    )
    assert mine[0] == "rgb(170, 51, 51)" and mine[1] > 24
    # everything fits the 1280x800 screen above the footer
    assert lowest_edge(page) <= 800 - 116
    # a way back to change it: one copy instead of two, then the check says so
    assert text(page, "back") == "内容を変更"
    tap(page, "back")
    on(page, "copies")
    tap(page, "copies-1")
    sim.inject("QuoteReady", quote={"quote_id": "Q-2", "fee_yen": 200})
    on(page, "fee")
    assert rows(page)["通数"].startswith("1 通")
    assert text(page, "fee-total") == "合計 200 円"


def test_the_order_check_in_english_for_a_seal_certificate(page: Any, sim: SimScreen) -> None:
    to_certificate(page, sim, "en")
    tap(page, "cert-inkan")
    on(page, "copies")
    tap(page, "copies-1")
    sim.inject("QuoteReady", quote={"quote_id": "Q-3", "fee_yen": 200})
    on(page, "fee")
    order = rows(page)
    assert page.inner_text("#screen h1") == "Check your order"
    assert order["Certificate"] == "Seal registration certificate"
    assert order["For"] == "You (the card holder)"
    assert "My Number" not in order  # not a 住民票: nothing to include
    assert order["Issued by"] == "桜ヶ丘市"
    assert order["Copies"].startswith("1 copies")  # the plural is issue 16 item 7's
    assert "The certificate shows the records as of 2026-11-30" in text(page, "order-as-of")
    assert text(page, "fee-total") == "Total 200 yen"
    assert text(page, "back") == "Change order"


def test_the_longest_order_still_fits_the_screen_in_english(
    page: Any, sim: SimScreen, shots: Path
) -> None:
    """Three people, every item a foreign resident's 住民票 may show, My Number included."""
    to_certificate(page, sim, "en")
    tap(page, "cert-juminhyo")
    on(page, "subject")
    for member in ("m1", "m2", "m3"):
        tap(page, f"member-{member}")
    tap(page, "next")
    on(page, "options")
    for el in page.query_selector_all('[data-testid^="option-"]'):
        el.tap()
    tap(page, "next")
    on(page, "my_number_warning")
    tap(page, "warning-ok")
    tap(page, "copies-10")
    sim.inject("QuoteReady", quote={"quote_id": "Q-5", "fee_yen": 2000})
    on(page, "fee")
    shot(page, shots, "order-check-longest-en")
    order = rows(page)
    assert len(order["For"].splitlines()) == 3
    assert "Nationality or region, Residence card number" in order["Items shown"]
    assert order["My Number"].startswith("Included")
    assert text(page, "fee-total") == "Total 2,000 yen"
    assert lowest_edge(page) <= 800 - 116


def paid_and_printed(page: Any, sim: SimScreen, lang: str = "ja") -> None:
    to_juminhyo_fee(page, sim, lang)
    tap(page, "fee-ok")
    on(page, "payment")
    sim.inject("MoneyInserted", total_yen=1100)
    sim.inject("PaymentComplete", paid_yen=1100, change_yen=700)
    sim.inject("ChangeTray", occupied=True)
    on(page, "issuing")
    sim.inject("Issued", documents=2)
    on(page, "printing")
    sim.inject("Printed")
    sim.inject("OutputTray", occupied=True)
    on(page, "collect")


def test_the_change_is_told_and_the_list_follows_what_is_taken(
    page: Any, sim: SimScreen, shots: Path
) -> None:
    paid_and_printed(page, sim)
    page.wait_for_selector('[data-testid="item-pages"]')
    shot(page, shots, "collect-change-ja")
    assert text(page, "tray-money") == "おつり 700 円をお取りください"
    assert items(page) == ["item-card", "item-pages", "item-change", "item-receipt"]
    # item boxes are a list to read, not buttons to press
    assert page.locator("#screen button").count() == 0
    assert page.locator(".items li.item").count() == 4
    border = page.eval_on_selector(".item", "e => getComputedStyle(e).borderTopWidth")
    assert border == "0px"
    sim.inject("ChangeTray", occupied=False)
    page.wait_for_selector('[data-testid="item-change"]', state="detached")
    assert page.locator('[data-testid="tray-money"]').count() == 0
    assert items(page) == ["item-card", "item-pages", "item-receipt"]
    sim.inject("OutputTray", occupied=False)
    page.wait_for_selector('[data-testid="item-pages"]', state="detached")
    assert items(page) == ["item-card", "item-receipt"]
    sim.inject("CardRemoved")
    on(page, "thanks")


def test_cancel_with_money_in_tells_the_refund_and_never_flashes_left_behind(
    page: Any, sim: SimScreen, shots: Path
) -> None:
    to_juminhyo_fee(page, sim)
    tap(page, "fee-ok")
    on(page, "payment")
    sim.inject("MoneyInserted", total_yen=1030)
    page.wait_for_selector('[data-testid="pay-inserted"]:has-text("1,030 円")')
    watch_screens(page)
    tap(page, "cancel")
    on(page, "refunding")
    sim.inject("RefundDone", refunded_yen=1030)
    on(page, "collect")
    sim.inject("ChangeTray", occupied=True)
    page.wait_for_selector('[data-testid="item-change"]')
    shot(page, shots, "collect-refund-ja")
    assert text(page, "tray-money") == "お返しした 1,030 円をおつり口からお取りください"
    assert items(page) == ["item-card", "item-change"]  # nothing was bought: no receipt
    assert not [s for s in seen(page) if s.startswith("left_behind") or "お忘れ物" in s]
    sim.inject("ChangeTray", occupied=False)
    sim.inject("CardRemoved")
    on(page, "thanks")


def test_english_lasts_through_the_whole_left_behind_escalation(
    page: Any, sim: SimScreen, shots: Path
) -> None:
    paid_and_printed(page, sim, "en")
    assert text(page, "tray-money") == "Take your change: 700 yen"
    sim.inject("Timeout")  # walked away with everything
    on(page, "left_behind_screen")
    for level in ("left_behind_screen", "left_behind_voice", "left_behind_alarm"):
        on(page, level)
        assert page.evaluate("document.documentElement.lang") == "en"
        assert text(page, "left-behind") == "You left something behind"
        assert text(page, "tray-money") == "Take your change: 700 yen"
        assert text(page, "item-card") == "My Number card"
        if level != "left_behind_alarm":
            sim.inject("Timeout")
    shot(page, shots, "left-behind-alarm-en")
    sim.inject("ChangeTray", occupied=False)
    page.wait_for_selector('[data-testid="item-change"]', state="detached")
    assert page.evaluate("document.documentElement.lang") == "en"
    sim.inject("OutputTray", occupied=False)
    sim.inject("CardRemoved")
    on(page, "idle")
    assert page.evaluate("document.documentElement.lang") == "ja"  # the next citizen's start


def test_clerk_screens_are_in_the_clerks_language_not_the_citizens(
    page: Any, sim: SimScreen
) -> None:
    to_pin(page, sim, "en")
    enter_pin(page, "7359")
    sim.inject("PinAccepted")
    sim.inject("Authenticated", menu="demo")
    on(page, "certificate")
    tap(page, "cert-inkan")
    tap(page, "copies-1")
    sim.inject("QuoteReady", quote={"quote_id": "Q-4", "fee_yen": 200})
    on(page, "fee")
    tap(page, "fee-ok")
    sim.inject("PaymentComplete", paid_yen=200, change_yen=0)
    sim.inject("Issued", documents=1)
    sim.inject("PrintFailed", reason="media-empty")
    on(page, "print_failed")
    assert page.evaluate("document.documentElement.lang") == "en"  # the citizen's notice
    tap(page, "clerk-key")
    on(page, "clerk_pin")
    assert page.evaluate("document.documentElement.lang") == "ja"
    assert "暗証番号" in page.inner_text("#screen")
    tap(page, "clerk-exit")
    on(page, "print_failed")  # no clerk signed in: the citizen is still told, in English
    assert page.evaluate("document.documentElement.lang") == "en"
