"""What the session tells the citizen about their order and money, and in which language, to
the very end (issue 16 items 1-3): the order check's facts, the change and refund amounts,
the collect list, the language through the left-behind escalation, the clerk's language."""

from __future__ import annotations

from typing import Any

from documents.model import CertificateType, JuminhyoOption
from host.session import actions as A
from host.session import events as E
from host.session.demo import OPEN_TIME, Step, drive, feed, path_to
from host.session.machine import SessionConfig, SessionMachine
from host.session.pin import ClerkPin
from host.session.states import LEFT_BEHIND, State


def in_lang(lang: str, state: State) -> SessionMachine:
    """The demo path to ``state``, with ``lang`` chosen on the language screen."""
    steps: list[Step] = [
        E.LanguageChosen(lang) if isinstance(s, E.LanguageChosen) else s for s in path_to(state)
    ]
    m = SessionMachine(OPEN_TIME)
    drive(m, steps)
    assert m.state is state
    return m


def shown(actions: list[A.Action]) -> dict[str, Any]:
    views = [a.data for a in actions if isinstance(a, A.Show)]
    return dict(views[-1])


def voices(actions: list[A.Action]) -> list[A.PlayVoice]:
    return [a for a in actions if isinstance(a, A.PlayVoice)]


# --- 1. the order check before paying -----------------------------------------------------


def to_fee(m: SessionMachine, *steps: E.Event) -> dict[str, Any]:
    out = drive(m, steps)
    assert m.state is State.FEE, m.state
    return shown(out)


def test_the_fee_view_names_whose_record_which_items_who_issues_how_many() -> None:
    m = in_lang("ja", State.CERTIFICATE)
    v = to_fee(
        m,
        E.CertificateChosen(CertificateType.JUMINHYO),
        E.SubjectsChosen(("m1", "m3")),
        E.OptionsChosen(frozenset({JuminhyoOption.HOUSEHOLD, JuminhyoOption.MY_NUMBER})),
        E.WarningAcknowledged(),
        E.CopiesChosen(2),
        E.QuoteReady(E.Quote("Q-1", 400)),
    )
    assert v["order"] == {
        "kind": "juminhyo",
        # only the chosen members, as the menu names them (見本 花子 was not chosen)
        "subjects": [
            {"name": "見本 太郎", "is_self": True},
            {"name": "SAMPLE Maria", "is_self": False},
        ],
        "options": ["household", "my_number"],
        "my_number": True,
        "fiscal_year": None,
        "municipality": "桜ヶ丘市",
        "copies": 2,
        "fee_per_copy_yen": 200,
    }
    assert v["fee_yen"] == 400 and [p["date"] for p in v["as_of"]] == ["2026-11-30"] * 2
    # the way back to change it is the table's FEE x Back row
    m.handle(E.Back())
    assert m.state is State.COPIES


def test_other_certificates_show_no_names_and_say_the_year() -> None:
    m = in_lang("ja", State.CERTIFICATE)
    v = to_fee(
        m,
        E.CertificateChosen(CertificateType.SHOTOKU),
        E.FiscalYearChosen(2024),
        E.CopiesChosen(1),
        E.QuoteReady(E.Quote("Q-2", 200)),
    )
    order = v["order"]
    assert order["subjects"] == [] and order["options"] == [] and not order["my_number"]
    assert order["fiscal_year"] == 2024 and order["municipality"] == "桜ヶ丘市"


def test_the_municipality_comes_from_the_centers_menu() -> None:
    from host.kiosk.center_client import menu_from_json

    menu = menu_from_json(
        {"municipality": {"code": "999999", "name": "見本町"}, "inkan": {"fee": 300}}
    )
    assert menu.municipality == "見本町"
    assert menu_from_json({"inkan": {"fee": 300}}).municipality == ""


# --- 2. money is told -------------------------------------------------------------------


def test_the_change_is_told_on_the_collect_screen_until_taken() -> None:
    m = in_lang("ja", State.PAYMENT)
    drive(m, [E.MoneyInserted(1100), E.PaymentComplete(1100, 900), E.ChangeTray(True)])
    drive(m, [E.Issued((E.IssuedDocument("N-1", 1, "Q-1", b"{}"),))])
    out = drive(m, [E.Printed(), E.OutputTray(True)])
    v = shown(out)
    assert m.state is State.COLLECT
    assert v["tray_yen"] == 900 and v["tray_kind"] == "change"
    assert v["items"] == ["card", "pages", "change", "receipt"]
    v = shown(m.handle(E.ChangeTray(False)))
    assert "tray_yen" not in v and v["items"] == ["card", "pages", "receipt"]
    v = shown(m.handle(E.OutputTray(False)))
    assert v["items"] == ["card", "receipt"]
    m.handle(E.CardRemoved())
    assert m.state is State.THANKS


def test_no_change_no_amount() -> None:
    m = in_lang("ja", State.PAYMENT)
    drive(m, [E.MoneyInserted(200), E.PaymentComplete(200, 0)])
    drive(m, [E.Issued((E.IssuedDocument("N-1", 1, "Q-1", b"{}"),))])
    v = shown(m.handle(E.Printed()))
    assert "tray_yen" not in v and v["items"] == ["card", "receipt"]


def test_cancel_with_money_goes_to_collect_with_the_refund_not_to_the_alarm() -> None:
    m = in_lang("ja", State.PAYMENT)
    m.handle(E.MoneyInserted(1030))
    m.handle(E.Cancel())
    assert m.state is State.REFUNDING
    out = m.handle(E.RefundDone(1030))
    assert m.state is State.COLLECT  # the citizen pressed cancel: they are here
    assert A.Wipe() in out and m.data.menu is None and m.held_yen == 0
    assert A.SetGuide(A.Guide.CARD, True) in out
    assert A.PlayVoice(A.VoicePrompt.TAKE_ITEMS) in out
    v = shown(out)
    assert v["tray_yen"] == 1030 and v["tray_kind"] == "refund"
    assert v["items"] == ["card"]  # the tray sensor has not spoken yet; no receipt
    v = shown(m.handle(E.ChangeTray(True)))
    assert v["items"] == ["card", "change"] and v["tray_yen"] == 1030
    drive(m, [E.ChangeTray(False), E.CardRemoved()])
    assert m.state is State.THANKS
    feed(m, "timeout")
    assert m.state is State.IDLE


def test_cancel_with_money_then_walking_off_still_escalates() -> None:
    m = in_lang("ja", State.PAYMENT)
    drive(m, [E.MoneyInserted(300), E.Cancel(), E.RefundDone(300), E.ChangeTray(True)])
    feed(m, "timeout")
    assert m.state is State.LEFT_BEHIND_SCREEN
    assert shown(m.handle(E.Tick(OPEN_TIME)))["tray_yen"] == 300


def test_walking_away_with_money_in_goes_straight_to_the_left_behind_escalation() -> None:
    m = in_lang("ja", State.PAYMENT)
    m.handle(E.MoneyInserted(300))
    feed(m, "timeout")
    out = m.handle(E.RefundDone(300))
    assert m.state is State.LEFT_BEHIND_SCREEN
    assert shown(out)["tray_yen"] == 300 and shown(out)["tray_kind"] == "refund"


# --- 3. the language lasts until everything is taken ------------------------------------


def test_english_lasts_through_screen_voice_and_alarm_then_rest_is_japanese() -> None:
    m = in_lang("en", State.COLLECT)  # pages and change in the tray, card on the reader
    drive(m, [E.OutputTray(True), E.ChangeTray(True)])
    out = feed(m, "timeout")
    assert m.state is State.LEFT_BEHIND_SCREEN
    assert m.data.is_empty()  # personal data gone; only the handover keeps the language
    assert shown(out)["lang"] == "en"
    out = feed(m, "timeout")
    assert m.state is State.LEFT_BEHIND_VOICE and shown(out)["lang"] == "en"
    said = voices(out)
    assert {v.prompt for v in said} == {
        A.VoicePrompt.TAKE_CARD,
        A.VoicePrompt.TAKE_PAGES,
        A.VoicePrompt.TAKE_CHANGE,
    }
    assert {v.lang for v in said} == {"en"}
    out = feed(m, "timeout")
    assert m.state is State.LEFT_BEHIND_ALARM and shown(out)["lang"] == "en"
    assert A.SoundAlarm(A.AlarmPattern.LEFT_BEHIND) in out
    assert {v.lang for v in voices(out)} == {"en"}
    out = feed(m, "timeout")  # the alarm re-announces, still in English
    assert {v.lang for v in voices(out)} == {"en"}
    v = shown(drive(m, [E.OutputTray(False), E.ChangeTray(False)]))
    assert m.state is State.LEFT_BEHIND_ALARM and v["lang"] == "en" and v["items"] == ["card"]
    out = m.handle(E.CardRemoved())
    assert m.state is State.IDLE and shown(out)["lang"] == "ja"
    assert m.handover.lang == "ja"


def test_every_voice_of_a_session_is_in_its_language() -> None:
    m = in_lang("ko", State.PIN_CHECK)
    out = m.handle(E.PinWrong(2))
    assert [(v.prompt, v.lang) for v in voices(out)] == [
        (A.VoicePrompt.PIN_WRONG, "ko"),
        (A.VoicePrompt.ENTER_PIN, "ko"),
    ]


def test_a_session_without_leftovers_returns_to_japanese_at_once() -> None:
    m = in_lang("vi", State.THANKS)
    out = feed(m, "timeout")
    assert m.state is State.IDLE and shown(out)["lang"] == "ja"
    assert m.state not in LEFT_BEHIND


def test_clerk_screens_are_in_the_clerks_language() -> None:
    m = in_lang("en", State.PRINTING)
    out = m.handle(E.PrintFailed("media-empty"))
    assert m.state is State.PRINT_FAILED and shown(out)["lang"] == "en"
    out = m.handle(E.ClerkRequested())
    assert m.state is State.CLERK_PIN and shown(out)["lang"] == "ja"
    out = m.handle(E.ClerkExit())  # nobody signed in: the citizen's notice again
    assert m.state is State.PRINT_FAILED and shown(out)["lang"] == "en"
    drive(m, [E.ClerkRequested(), E.ClerkPinEntered(ClerkPin(b"000000"))])
    out = m.handle(E.ClerkPinChecked(True, clerk="c01"))
    assert m.state is State.CLERK and shown(out)["lang"] == "ja"


def test_the_clerks_language_is_configurable() -> None:
    m = SessionMachine(OPEN_TIME, SessionConfig(clerk_lang="en"))
    out = m.handle(E.ClerkRequested())
    assert shown(out)["lang"] == "en"
