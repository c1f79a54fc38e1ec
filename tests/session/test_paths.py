"""The session's paths: happy path, wrong PIN, blocked card, refusals, faults, closing hours,
left-behind escalation, clerk reprint, money always returned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from documents.model import CertificateType, JuminhyoOption
from host.session import actions as A
from host.session import events as E
from host.session.demo import (
    DEMO_PIN,
    OPEN_TIME,
    TIMEOUT,
    demo_documents,
    drive,
    machine_at,
    main_path,
)
from host.session.hours import TOKYO, MaintenanceWindow
from host.session.machine import SessionConfig, SessionMachine
from host.session.pin import ClerkPin, Pin
from host.session.states import State


def of(actions: list[A.Action], kind: type[A.Action]) -> list[A.Action]:
    return [a for a in actions if isinstance(a, kind)]


def test_happy_path_asks_for_everything_in_order() -> None:
    m = SessionMachine(OPEN_TIME)
    states = []
    actions: list[A.Action] = []
    for expected, step in main_path():
        actions += drive(m, [step])
        states.append(m.state)
        assert m.state is expected
    kinds = [
        type(a)
        for a in actions
        if not isinstance(a, (A.Show, A.SetTimer, A.CancelTimer, A.PlayVoice, A.Log, A.SetGuide))
    ]
    assert kinds == [
        A.WaitForCard,
        A.VerifyPin,
        A.RequestChallenge,
        A.SignChallenge,
        A.Authenticate,
        A.RequestQuote,
        A.StartPayment,
        A.Issue,
        A.PrintDocuments,
        A.PrintReceipt,
        A.ReportPrintResult,
        A.Wipe,
        A.Wipe,
    ]
    (order,) = [a.order for a in of(actions, A.RequestQuote)]  # type: ignore[attr-defined]
    assert order == A.Order(
        CertificateType.JUMINHYO, 1, ("m1",), frozenset({JuminhyoOption.MY_NUMBER}), None
    )
    (issue,) = of(actions, A.Issue)
    assert issue == A.Issue("Q-1", 200, issue.idempotency_key)  # type: ignore[attr-defined]
    (receipt,) = [a.receipt for a in of(actions, A.PrintReceipt)]  # type: ignore[attr-defined]
    assert (receipt.fee_yen, receipt.paid_yen, receipt.change_yen) == (200, 500, 300)
    voices = [a.prompt for a in of(actions, A.PlayVoice)]  # type: ignore[attr-defined]
    assert A.VoicePrompt.MY_NUMBER_WARNING in voices and A.VoicePrompt.TAKE_ITEMS in voices
    assert m.data.is_empty() and m.held_yen == 0


def test_other_certificates_skip_the_screens_they_do_not_need() -> None:
    m, _ = machine_at(State.CERTIFICATE)
    m.handle(E.CertificateChosen(CertificateType.INKAN))
    assert m.state is State.COPIES
    m.handle(E.Back())
    assert m.state is State.CERTIFICATE
    m.handle(E.CertificateChosen(CertificateType.SHOTOKU_KAZEI))
    assert m.state is State.COPIES and m.data.fiscal_year == 2025  # only one year on record
    m.handle(E.Back())
    m.handle(E.CertificateChosen(CertificateType.SHOTOKU))
    assert m.state is State.FISCAL_YEAR
    m.handle(E.FiscalYearChosen(2023))
    assert m.state is State.FISCAL_YEAR and m.data.input_error == "not_offered"
    m.handle(E.FiscalYearChosen(2024))
    assert m.state is State.COPIES and m.data.fiscal_year == 2024
    actions = m.handle(E.CopiesChosen(3))
    (order,) = [a.order for a in of(actions, A.RequestQuote)]  # type: ignore[attr-defined]
    assert order == A.Order(CertificateType.SHOTOKU, 3, (), frozenset(), 2024)


def test_options_follow_nationality_and_bad_choices_lose_nothing() -> None:
    m, _ = machine_at(State.SUBJECT)
    m.handle(E.SubjectsChosen(("m9",)))
    assert m.state is State.SUBJECT and m.data.input_error == "choose_someone"
    m.handle(E.SubjectsChosen(("m1",)))  # Japanese: 本籍 allowed, 国籍 not
    view = m.view()
    assert "honseki" in view["allowed_options"] and "nationality" not in view["allowed_options"]
    m.handle(E.OptionsChosen(frozenset({JuminhyoOption.NATIONALITY})))
    assert m.state is State.OPTIONS and m.data.input_error == "option_not_allowed"
    assert m.data.member_ids == ("m1",)  # the earlier choice is kept
    m.handle(E.Back())
    m.handle(E.SubjectsChosen(("m3",)))  # foreign resident
    allowed = m.view()["allowed_options"]
    assert "nationality" in allowed and "honseki" not in allowed
    m.handle(E.OptionsChosen(frozenset({JuminhyoOption.HOUSEHOLD})))
    assert m.state is State.COPIES  # no 個人番号, no warning
    for bad in (0, 11, -1):
        m.handle(E.CopiesChosen(bad))
        assert m.state is State.COPIES and m.data.input_error == "copies_out_of_range"


def test_my_number_warning_can_be_declined() -> None:
    m, _ = machine_at(State.MY_NUMBER_WARNING)
    m.handle(E.Back())
    assert m.state is State.OPTIONS


def test_not_offered_certificate_is_rejected_in_place() -> None:
    m, _ = machine_at(State.CERTIFICATE)
    menu = E.Menu((E.Offer(CertificateType.SHOTOKU, 300, fiscal_years=(2025,)),))
    m.data.menu = menu
    actions = m.handle(E.CertificateChosen(CertificateType.INKAN))
    assert m.state is State.CERTIFICATE and m.data.input_error == "not_offered"
    assert of(actions, A.Log)


def test_wrong_pin_then_right() -> None:
    m, _ = machine_at(State.PIN_CHECK)
    actions = m.handle(E.PinWrong(2))
    assert m.state is State.PIN
    assert m.view()["tries_left"] == 2 and m.view()["pin_error"] is True
    assert A.PlayVoice(A.VoicePrompt.PIN_WRONG) in actions
    m.handle(E.PinEntered(Pin(b"1234")))
    m.handle(E.PinAccepted())
    assert m.state is State.AUTHENTICATING and m.data.pin_error is False


def test_third_wrong_pin_blocks_and_says_where_to_go() -> None:
    m, _ = machine_at(State.PIN_CHECK)
    m.handle(E.PinWrong(1))
    m.handle(E.PinEntered(Pin(b"1234")))
    actions = m.handle(E.PinWrong(0))
    assert m.state is State.NOTICE and m.data.notice == "card_blocked"
    assert A.PlayVoice(A.VoicePrompt.CARD_BLOCKED) in actions


def test_blocked_card_is_refused_before_the_pin_pad() -> None:
    m, _ = machine_at(State.CARD)
    m.handle(E.CardInserted(0))
    assert m.state is State.NOTICE and m.data.notice == "card_blocked"


@pytest.mark.parametrize("reason", list(E.CardRejection), ids=lambda r: r.value)
def test_unusable_cards_are_refused_with_their_reason(reason: E.CardRejection) -> None:
    m, _ = machine_at(State.CARD)
    m.handle(E.CardRejected(reason))
    assert m.state is State.NOTICE and m.data.notice == f"card_{reason.value}"
    m.handle(E.NoticeAcknowledged())
    assert m.state is State.LEFT_BEHIND_SCREEN  # take your card
    m.handle(E.CardRemoved())
    assert m.state is State.IDLE


@pytest.mark.parametrize("reason", list(E.RefusalReason), ids=lambda r: r.value)
def test_every_center_refusal_reason_is_explained(reason: E.RefusalReason) -> None:
    m, _ = machine_at(State.AUTHENTICATING)
    actions = m.handle(E.Refused(reason))
    assert m.state is State.NOTICE
    assert m.view()["notice"] == f"refusal_{reason.value}"
    assert A.Log("refused", {"reason": reason.value}) in actions
    m.handle(E.Timeout(m.seq))
    assert m.data.is_empty()


def test_unknown_refusal_reason_maps_to_other() -> None:
    assert E.RefusalReason.parse("something_new") is E.RefusalReason.OTHER
    assert E.RefusalReason.parse("deceased") is E.RefusalReason.DECEASED


def test_card_lifted_during_authentication() -> None:
    m, _ = machine_at(State.AUTHENTICATING)
    m.handle(E.CardRemoved())
    assert m.state is State.NOTICE and m.data.notice == "card_removed"
    m.handle(E.NoticeAcknowledged())
    assert m.state is State.IDLE


@pytest.mark.parametrize("device", list(E.Device), ids=lambda d: d.value)
def test_any_device_fault_takes_the_kiosk_out_of_service_until_fixed(device: E.Device) -> None:
    m = SessionMachine(OPEN_TIME)
    m.handle(E.DeviceHealth(device, False))
    assert m.state is State.OUT_OF_SERVICE
    assert device.value in m.view()["faults"]
    assert m.handle(E.StartPressed()) == []  # nobody can start a session
    m.handle(E.DeviceHealth(device, True))
    assert m.state is State.IDLE


def test_fault_before_payment_explains_then_out_of_service() -> None:
    m, _ = machine_at(State.CERTIFICATE)
    m.handle(E.DeviceHealth(E.Device.PAPER, False))
    assert m.state is State.NOTICE and m.data.notice == "out_of_service"
    m.handle(E.NoticeAcknowledged())
    m.handle(E.CardRemoved())
    assert m.state is State.OUT_OF_SERVICE


def test_fault_during_payment_refunds_everything_inserted() -> None:
    m, _ = machine_at(State.PAYMENT)
    m.handle(E.MoneyInserted(150))
    actions = m.handle(E.DeviceHealth(E.Device.BILL_VALIDATOR, False))
    assert A.StopPayment() in actions and A.Refund(150) in actions
    assert m.state is State.REFUNDING and m.view()["notice"] == "out_of_service"


def test_center_down_after_payment_refunds_the_fee_and_goes_out_of_service() -> None:
    m, _ = machine_at(State.ISSUING)
    actions = m.handle(E.CenterUnavailable())
    assert A.Refund(200) in actions  # the change is already in the tray
    assert m.state is State.REFUNDING
    m.handle(E.RefundDone(200))
    m.handle(E.CardRemoved())
    assert m.state is State.OUT_OF_SERVICE and "center" in m.view()["faults"]
    m.handle(E.DeviceHealth(E.Device.CENTER, True))
    assert m.state is State.IDLE


def test_issue_timeout_also_refunds() -> None:
    m, _ = machine_at(State.ISSUING)
    actions = m.handle(E.Timeout(m.seq))
    assert A.Refund(200) in actions


def test_change_the_hoppers_cannot_pay_is_vouchered() -> None:
    m, _ = machine_at(State.REFUNDING)
    actions = m.handle(E.RefundDone(refunded_yen=0, short_yen=500))
    assert A.IssueVoucher(500) in actions
    assert m.held_yen == 0


def test_refund_that_never_answers_is_vouchered() -> None:
    m, _ = machine_at(State.PAYMENT)
    m.handle(E.MoneyInserted(1000))
    m.handle(E.Cancel())
    actions = m.handle(E.Timeout(m.seq))
    assert A.IssueVoucher(1000) in actions


def test_payment_not_matching_the_fee_is_returned_not_issued() -> None:
    m, _ = machine_at(State.PAYMENT)
    actions = m.handle(E.PaymentComplete(paid_yen=500, change_yen=0))
    assert not of(actions, A.Issue)
    assert A.Refund(500) in actions


def test_print_failure_then_clerk_reprint_without_a_second_fee() -> None:
    m, _ = machine_at(State.PRINTING)
    actions = m.handle(E.PrintFailed("media-empty"))
    assert m.state is State.PRINT_FAILED
    assert A.ReportPrintResult(("DEMO-000001",), ok=False, reason="media-empty") in actions
    assert m.data.documents == ()  # certificate data already erased
    m.handle(E.Timeout(m.seq))
    assert m.state is State.PRINT_FAILED  # keeps calling for the clerk
    m.handle(E.ClerkRequested())
    m.handle(E.ClerkPinEntered(ClerkPin(b"000000")))
    m.handle(E.ClerkPinChecked(False))
    assert m.state is State.CLERK_PIN
    m.handle(E.ClerkPinEntered(ClerkPin(b"000000")))
    m.handle(E.ClerkPinChecked(True))
    assert m.state is State.CLERK and m.view()["reprint_pending"] == 1
    actions = m.handle(E.ClerkReprint())
    assert A.Reprint(("DEMO-000001",)) in actions
    assert not of(actions, A.StartPayment)
    m.handle(E.Printed())
    m.handle(E.DeviceHealth(E.Device.PAPER, True))
    m.handle(E.ClerkExit())
    m.handle(E.CardRemoved())
    assert m.state is State.IDLE


def test_clerk_cannot_reprint_what_was_not_lost() -> None:
    m, _ = machine_at(State.CLERK)
    actions = m.handle(E.ClerkReprint())
    assert not of(actions, A.Reprint) and m.data.input_error == "nothing_to_reprint"
    m.handle(E.ClerkExit())
    assert m.state is State.IDLE


def test_left_behind_escalates_screen_voice_alarm_until_taken() -> None:
    m, _ = machine_at(State.COLLECT)
    m.handle(E.OutputTray(True))
    m.handle(E.ChangeTray(True))
    actions = m.handle(E.Timeout(m.seq))
    assert m.state is State.LEFT_BEHIND_SCREEN
    assert m.view()["items"] == ["card", "pages", "change"]
    assert A.SetGuide(A.Guide.CHANGE_TRAY, True) in actions
    actions = m.handle(E.Timeout(m.seq))
    assert m.state is State.LEFT_BEHIND_VOICE
    assert [a.prompt for a in of(actions, A.PlayVoice)] == [  # type: ignore[attr-defined]
        A.VoicePrompt.TAKE_CARD,
        A.VoicePrompt.TAKE_PAGES,
        A.VoicePrompt.TAKE_CHANGE,
    ]
    actions = m.handle(E.Timeout(m.seq))
    assert m.state is State.LEFT_BEHIND_ALARM
    assert A.SoundAlarm(A.AlarmPattern.LEFT_BEHIND) in actions
    actions = m.handle(E.Timeout(m.seq))
    assert m.state is State.LEFT_BEHIND_ALARM and of(actions, A.PlayVoice)
    m.handle(E.CardRemoved())
    m.handle(E.OutputTray(False))
    assert m.state is State.LEFT_BEHIND_ALARM
    actions = m.handle(E.ChangeTray(False))
    assert A.StopAlarm() in actions and m.state is State.IDLE
    logs = of(actions, A.Log)
    assert logs and all(set(a.fields) <= {"items", "level"} for a in logs)  # type: ignore[attr-defined]


OPEN_UTC = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo


@pytest.mark.parametrize(
    ("local", "open_"),
    [
        ((2026, 11, 24, 6, 29), False),
        ((2026, 11, 24, 6, 30), True),
        ((2026, 11, 24, 22, 59), True),
        ((2026, 11, 24, 23, 0), False),
        ((2026, 12, 28, 12, 0), True),
        ((2026, 12, 29, 12, 0), False),
        ((2027, 1, 3, 12, 0), False),
        ((2027, 1, 4, 6, 30), True),
    ],
)
def test_closed_outside_hours_and_at_year_end(local: tuple[int, ...], open_: bool) -> None:
    m = SessionMachine(OPEN_TIME)
    when = datetime(*local, tzinfo=TOKYO).astimezone(UTC)  # the clock may well be in UTC
    m.handle(E.Tick(when))
    assert m.state is (State.IDLE if open_ else State.CLOSED)


def test_hours_do_not_depend_on_the_machine_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    for tz in ("America/Los_Angeles", "UTC", "Asia/Kolkata"):
        monkeypatch.setenv("TZ", tz)
        time.tzset()
        m = SessionMachine(OPEN_UTC)
        assert m.state is State.IDLE
        m.handle(E.Tick(OPEN_UTC + timedelta(hours=14)))  # 0:00 in Tokyo
        assert m.state is State.CLOSED
    monkeypatch.delenv("TZ")
    time.tzset()


def test_naive_time_is_refused() -> None:
    from host.session.hours import NaiveTimeError

    with pytest.raises(NaiveTimeError):
        SessionMachine(datetime(2026, 11, 24, 10, 0))


def test_maintenance_window_closes_and_reopens() -> None:
    window = MaintenanceWindow(OPEN_TIME, OPEN_TIME + timedelta(hours=2))
    m = SessionMachine(OPEN_TIME - timedelta(minutes=1), SessionConfig(maintenance=(window,)))
    assert m.state is State.IDLE
    m.handle(E.Tick(OPEN_TIME))
    assert m.state is State.CLOSED
    m.handle(E.Tick(OPEN_TIME + timedelta(hours=2)))
    assert m.state is State.IDLE


def test_closing_time_does_not_cut_a_session_short() -> None:
    m, _ = machine_at(State.PAYMENT)
    m.handle(E.Tick(datetime(2026, 11, 24, 23, 1, tzinfo=TOKYO)))
    assert m.state is State.PAYMENT
    m.handle(E.Cancel())
    m.handle(E.CardRemoved())
    assert m.state is State.CLOSED


def test_the_pin_never_shows_in_actions_logs_views_or_dumps() -> None:
    digits = DEMO_PIN.decode()
    m = SessionMachine(OPEN_TIME)
    seen: list[str] = []
    pins: list[Pin] = []
    for _, step in main_path():
        if isinstance(step, E.PinEntered):
            pins.append(step.pin)
        for a in drive(m, [step]):
            seen.append(repr(a))
            if isinstance(a, A.Show):
                seen.append(repr(a.data))
        seen.append(repr(m.dump()))
        seen.append(repr(m.data))
    assert pins and all(digits not in text for text in seen)
    assert repr(pins[0]) in ("Pin(****)", "Pin(wiped)")


def test_logs_carry_no_names() -> None:
    m = SessionMachine(OPEN_TIME)
    names = [
        member.name
        for offer in main_path()[7][1].menu.offers  # type: ignore[union-attr]
        for member in offer.members
    ]
    logs: list[A.Log] = []
    for _, step in main_path():
        logs += [a for a in drive(m, [step]) if isinstance(a, A.Log)]
    text = repr([(a.event, dict(a.fields)) for a in logs])
    assert names and not any(n in text for n in names)


def test_issued_documents_without_content_are_refunded() -> None:
    m, _ = machine_at(State.ISSUING)
    actions = m.handle(E.Issued(()))
    assert A.Refund(200) in actions


def test_two_copies_print_two_documents() -> None:
    m, _ = machine_at(State.ISSUING)
    actions = m.handle(E.Issued(demo_documents(2)))
    (printed,) = of(actions, A.PrintDocuments)
    assert len(printed.documents) == 2  # type: ignore[attr-defined]
    assert m.view()["pages"] == 2


def test_timeout_constant_is_a_real_step() -> None:
    m, _ = machine_at(State.THANKS)
    drive(m, [TIMEOUT])
    assert m.state is State.IDLE


def test_money_arriving_during_the_refund_goes_back_too() -> None:
    m, _ = machine_at(State.PAYMENT)
    m.handle(E.MoneyInserted(100))
    actions = m.handle(E.Cancel())
    assert A.Refund(100) in actions
    m.handle(E.MoneyInserted(600))  # a bill was already in the validator
    actions = m.handle(E.RefundDone(100))
    assert A.Refund(500) in actions and m.state is State.REFUNDING
    actions = m.handle(E.RefundDone(500))
    assert m.held_yen == 0 and A.Wipe() in actions


def test_partial_refund_asks_again_for_the_rest() -> None:
    m, _ = machine_at(State.PAYMENT)
    m.handle(E.MoneyInserted(1000))
    m.handle(E.Cancel())
    actions = m.handle(E.RefundDone(refunded_yen=400))
    assert A.Refund(600) in actions
    actions = m.handle(E.Timeout(m.seq))  # the hoppers gave up: voucher for the rest
    assert A.IssueVoucher(600) in actions and m.held_yen == 0


def test_documents_for_another_order_are_never_printed() -> None:
    m, _ = machine_at(State.ISSUING)
    foreign = demo_documents(1, quote_id="Q-OTHER")
    actions = m.handle(E.Issued(foreign))
    assert not of(actions, A.PrintDocuments) and not of(actions, A.PrintReceipt)
    assert A.Refund(200) in actions
    assert A.Log("issue_mismatch", {"documents": 1}) in actions
    m.handle(E.RefundDone(200))
    m.handle(E.CardRemoved())
    assert m.state is State.OUT_OF_SERVICE


def test_repeated_health_reports_are_logged_once() -> None:
    m = SessionMachine(OPEN_TIME)
    first = m.handle(E.DeviceHealth(E.Device.PAPER, False))
    again = m.handle(E.DeviceHealth(E.Device.PAPER, False))
    assert of(first, A.Log) and not of(again, A.Log)
    assert m.state is State.OUT_OF_SERVICE


def test_a_fault_already_known_does_not_end_a_session() -> None:
    m, _ = machine_at(State.CERTIFICATE)
    m.faults.add(E.Device.RECEIPT_PRINTER)  # known before, e.g. reported at start-up
    m.handle(E.DeviceHealth(E.Device.RECEIPT_PRINTER, False))
    assert m.state is State.CERTIFICATE
