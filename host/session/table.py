"""THE transition table: (state, event type) -> allowed next states + the effect.

Each row names every state its effect may choose (a guard picks one, e.g. 住民票 goes on to
the subject screen, 印鑑登録証明書 straight to copies); the machine checks the choice against
the row, so the table is the complete and checked list of what can happen. An event with no
row for the current state is ignored (and logged by type name only).

Rows that apply to many states (cancel, timeouts, device health, trays, time) are generated
here too, from the state groups in :mod:`host.session.states`, so there is still one table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from documents.model import CertificateType, JuminhyoOption

from . import actions as A
from . import events as E
from .states import (
    CANCELLABLE,
    CITIZEN_WAITING,
    CLERK_MENU,
    CLERK_STATES,
    DEFAULT_TIMEOUTS,
    IN_SESSION,
    LEFT_BEHIND,
    RESTING,
    State,
)

if TYPE_CHECKING:
    from .machine import SessionMachine

Effect = Callable[["SessionMachine", Any], State]


@dataclass(frozen=True)
class Row:
    state: State
    event: type[E.Event]
    targets: frozenset[State]
    effect: Effect


# States an ended session may land in: the rest states or the left-behind escalation, or
# REFUNDING first when money is held.
END_TARGETS = frozenset(RESTING | {State.LEFT_BEHIND_SCREEN, State.REFUNDING, State.NOTICE})
FINISH_TARGETS = frozenset(RESTING | {State.LEFT_BEHIND_SCREEN})

MAX_COPIES = 10


# --- effects -----------------------------------------------------------------------------


def stay(m: SessionMachine, ev: Any) -> State:
    return m.state


def start(m: SessionMachine, ev: E.StartPressed) -> State:
    m.begin_session()
    return State.LANGUAGE


def choose_language(m: SessionMachine, ev: E.LanguageChosen) -> State:
    if ev.lang not in m.config.languages:
        return m.reject_input("unknown_language")
    m.data.lang = ev.lang
    m.emit(A.WaitForCard())
    return State.CARD


def card_inserted(m: SessionMachine, ev: E.CardInserted) -> State:
    m.card_present = True
    m.data.tries_left = ev.tries_left
    if ev.tries_left <= 0:
        return m.notice("card_blocked")
    return State.PIN


def card_rejected(m: SessionMachine, ev: E.CardRejected) -> State:
    m.card_present = True
    m.emit(A.Log("card_rejected", {"reason": ev.reason.value}))
    return m.notice(f"card_{ev.reason.value}")


def pin_entered(m: SessionMachine, ev: E.PinEntered) -> State:
    m.data.pin_error = False
    # The PIN object travels in the action only; the runner wipes it after the card call.
    m.emit(A.VerifyPin(ev.pin))
    return State.PIN_CHECK


def pin_accepted(m: SessionMachine, ev: E.PinAccepted) -> State:
    m.data.auth_step = "challenge"
    m.emit(A.RequestChallenge())
    return State.AUTHENTICATING


def pin_wrong(m: SessionMachine, ev: E.PinWrong) -> State:
    m.data.tries_left = ev.tries_left
    m.emit(A.Log("pin_wrong", {"tries_left": ev.tries_left}))
    if ev.tries_left <= 0:
        return m.notice("card_blocked")
    m.data.pin_error = True
    m.emit(A.PlayVoice(A.VoicePrompt.PIN_WRONG))
    return State.PIN


def card_blocked(m: SessionMachine, ev: E.CardBlocked) -> State:
    m.data.tries_left = 0
    return m.notice("card_blocked")


def card_error(m: SessionMachine, ev: E.CardError) -> State:
    return m.notice("card_error")


def card_removed_mid_auth(m: SessionMachine, ev: E.CardRemoved) -> State:
    m.card_present = False
    return m.notice("card_removed")


def challenge_issued(m: SessionMachine, ev: E.ChallengeIssued) -> State:
    m.data.auth_step = "sign"
    m.emit(A.SignChallenge(ev.challenge))
    return State.AUTHENTICATING


def challenge_signed(m: SessionMachine, ev: E.ChallengeSigned) -> State:
    m.data.auth_step = "center"
    m.emit(A.Authenticate(ev.certificate, ev.signature))
    return State.AUTHENTICATING


def authenticated(m: SessionMachine, ev: E.Authenticated) -> State:
    m.data.menu = ev.menu
    m.data.auth_step = ""
    if not ev.menu.offers:
        return m.notice("nothing_to_issue")
    m.emit(A.Log("authenticated", {"offers": len(ev.menu.offers)}))
    return State.CERTIFICATE


def refused(m: SessionMachine, ev: E.Refused) -> State:
    m.data.refusal = ev.reason
    m.emit(A.Log("refused", {"reason": ev.reason.value}))
    return m.notice(f"refusal_{ev.reason.value}")


def center_unavailable(m: SessionMachine, ev: E.CenterUnavailable) -> State:
    m.faults.add(E.Device.CENTER)
    m.emit(A.Log("center_unavailable", {"state": m.state.value}))
    return m.notice("center_unavailable")


def certificate_chosen(m: SessionMachine, ev: E.CertificateChosen) -> State:
    menu = m.data.menu
    offer = menu.offer(ev.kind) if menu else None
    if offer is None:
        return m.reject_input("not_offered")
    m.data.kind = ev.kind
    m.data.member_ids = ()
    m.data.options = frozenset()
    m.data.fiscal_year = None
    if ev.kind is CertificateType.JUMINHYO:
        if len(offer.members) > 1:
            return State.SUBJECT
        m.data.member_ids = tuple(p.member_id for p in offer.members if p.is_self)
        return State.OPTIONS
    if ev.kind in (CertificateType.SHOTOKU, CertificateType.SHOTOKU_KAZEI):
        if len(offer.fiscal_years) > 1:
            return State.FISCAL_YEAR
        if not offer.fiscal_years:
            return m.reject_input("not_offered")
        m.data.fiscal_year = offer.fiscal_years[0]
    return State.COPIES


def subjects_chosen(m: SessionMachine, ev: E.SubjectsChosen) -> State:
    offer = m.current_offer()
    known = {p.member_id for p in offer.members} if offer else set()
    if (
        not ev.member_ids
        or not set(ev.member_ids) <= known
        or len(set(ev.member_ids)) != len(ev.member_ids)
    ):
        return m.reject_input("choose_someone")
    m.data.member_ids = ev.member_ids
    return State.OPTIONS


def options_chosen(m: SessionMachine, ev: E.OptionsChosen) -> State:
    if not ev.options <= m.allowed_options():
        return m.reject_input("option_not_allowed")
    m.data.options = ev.options
    if JuminhyoOption.MY_NUMBER in ev.options:
        return State.MY_NUMBER_WARNING
    return State.COPIES


def warning_acknowledged(m: SessionMachine, ev: E.WarningAcknowledged) -> State:
    return State.COPIES


def fiscal_year_chosen(m: SessionMachine, ev: E.FiscalYearChosen) -> State:
    offer = m.current_offer()
    if offer is None or ev.year not in offer.fiscal_years:
        return m.reject_input("not_offered")
    m.data.fiscal_year = ev.year
    return State.COPIES


def copies_chosen(m: SessionMachine, ev: E.CopiesChosen) -> State:
    if not 1 <= ev.copies <= m.max_copies():
        return m.reject_input("copies_out_of_range")
    m.data.copies = ev.copies
    assert m.data.kind is not None
    m.emit(
        A.RequestQuote(
            A.Order(
                kind=m.data.kind,
                copies=ev.copies,
                member_ids=m.data.member_ids,
                options=m.data.options,
                fiscal_year=m.data.fiscal_year,
            )
        )
    )
    return State.QUOTING


def quote_ready(m: SessionMachine, ev: E.QuoteReady) -> State:
    if ev.quote.fee_yen <= 0:
        # The kiosk never waives fees (SPEC §2.6): a zero quote is a center defect.
        return m.notice("center_unavailable")
    m.data.quote = ev.quote
    return State.FEE


def fee_confirmed(m: SessionMachine, ev: E.FeeConfirmed) -> State:
    assert m.data.quote is not None
    m.data.inserted_yen = 0
    m.emit(A.StartPayment(m.data.quote.fee_yen))
    return State.PAYMENT


def money_inserted(m: SessionMachine, ev: E.MoneyInserted) -> State:
    m.data.inserted_yen = max(m.data.inserted_yen, ev.total_yen)
    m.held_yen = m.data.inserted_yen
    return State.PAYMENT


def payment_complete(m: SessionMachine, ev: E.PaymentComplete) -> State:
    assert m.data.quote is not None
    fee = m.data.quote.fee_yen
    m.handover.paid_out(ev.change_yen, refund=False)
    if ev.paid_yen - ev.change_yen != fee:
        # Money is in the kiosk but does not match the fee: return it all, issue nothing.
        m.data.inserted_yen = ev.paid_yen
        m.held_yen = ev.paid_yen - ev.change_yen
        m.emit(A.Log("payment_mismatch", {"paid": ev.paid_yen, "change": ev.change_yen}))
        return m.end_session(notice="payment_error")
    m.data.inserted_yen = ev.paid_yen
    m.data.paid_yen = fee
    m.data.change_yen = ev.change_yen
    m.held_yen = fee  # the change is already in the tray
    m.emit(
        A.Issue(
            quote_id=m.data.quote.quote_id,
            paid_yen=fee,
            idempotency_key=m.data.idempotency_key,
        )
    )
    return State.ISSUING


def issued(m: SessionMachine, ev: E.Issued) -> State:
    if not ev.documents:
        return issue_failed_refund(m, E.CenterUnavailable())
    assert m.data.quote is not None and m.data.kind is not None
    if any(d.quote_id != m.data.quote.quote_id for d in ev.documents):
        # Never print what was not issued for this session's order (the 2023-24 incidents):
        # refund, and keep the kiosk out of service until the center is checked.
        m.emit(A.Log("issue_mismatch", {"documents": len(ev.documents)}))
        return issue_failed_refund(m, ev)
    m.held_yen = 0  # spent: no refund once issued (SPEC §2.6)
    m.data.documents = ev.documents
    m.data.certificate_numbers = tuple(d.certificate_number for d in ev.documents)
    m.data.pages = sum(d.pages for d in ev.documents)
    m.data.page = 0
    m.emit(
        A.Record(
            "issued",
            {
                "documents": len(ev.documents),
                "fee": m.data.paid_yen,
                "kind": m.data.kind.value,
                "copies": m.data.copies,
            },
            documents=ev.documents,
        )
    )
    m.emit(A.PrintDocuments(ev.documents))
    m.emit(
        A.PrintReceipt(
            A.Receipt(
                kind=m.data.kind,
                copies=m.data.copies,
                fee_yen=m.data.paid_yen,
                paid_yen=m.data.inserted_yen,
                change_yen=m.data.change_yen,
                certificate_numbers=m.data.certificate_numbers,
            )
        )
    )
    m.handover.receipt = True
    return State.PRINTING


def issue_failed_refund(m: SessionMachine, ev: Any) -> State:
    if isinstance(ev, E.CenterUnavailable):
        m.faults.add(E.Device.CENTER)
        key = "center_unavailable"
    elif isinstance(ev, E.Refused):
        key = f"refusal_{ev.reason.value}"
    elif isinstance(ev, E.Issued):
        m.faults.add(E.Device.CENTER)
        key = "center_unavailable"
    else:
        m.faults.add(E.Device.CENTER)
        key = "center_unavailable"
    m.emit(A.Log("issue_failed", {"notice": key}))
    return m.end_session(notice=key)


def print_progress(m: SessionMachine, ev: E.PrintProgress) -> State:
    m.data.page, m.data.pages = ev.page, ev.pages
    return State.PRINTING


def printed(m: SessionMachine, ev: E.Printed) -> State:
    numbers = m.data.certificate_numbers
    m.emit(A.ReportPrintResult(numbers, ok=True))
    m.emit(A.Record("printed", {"documents": len(numbers)}))
    # Certificate data is erased as soon as it is on paper (SPEC §4).
    m.wipe_data(keep_lang=True)
    m.emit(A.SetGuide(A.Guide.OUTPUT_TRAY, True))
    return State.COLLECT


def report_copies(
    m: SessionMachine, numbers: tuple[str, ...], ev: E.PrintFailed, reason: str = ""
) -> tuple[str, ...]:
    """Tell the center, copy by copy, what came out (``ok``: final) and what did not
    (``failed``: reprintable by a clerk); the copies that did not come out are returned."""
    out = tuple(n for n in numbers if n in ev.printed)
    missing = tuple(n for n in numbers if n not in ev.printed)
    if out:
        m.emit(A.ReportPrintResult(out, ok=True, reason=reason))
    if missing:
        m.emit(A.ReportPrintResult(missing, ok=False, reason=ev.reason))
    return missing


def print_failed(m: SessionMachine, ev: E.PrintFailed) -> State:
    numbers = m.data.certificate_numbers
    if numbers and set(numbers) <= set(ev.printed):
        return printed(m, E.Printed())  # it stopped after the last copy was out
    missing = report_copies(m, numbers, ev)
    # Copies still waiting from an earlier failure stay listed for the clerk.
    m.pending_reprint += tuple(n for n in missing if n not in m.pending_reprint)
    m.faults.add(E.Device.PRINTER)
    fields: dict[str, str | int] = {
        "reason": ev.reason,
        "documents": len(missing),
        "printed": len(numbers) - len(missing),
    }
    m.emit(A.Record("print_failed", fields))
    m.emit(A.SoundAlarm(A.AlarmPattern.CALL_CLERK))
    m.wipe_data(keep_lang=True)
    return State.PRINT_FAILED


def recovered(m: SessionMachine, ev: E.Recovered) -> State:
    """The host came back from dying mid-session and finished it: the citizen, who may still
    be standing there, is told in their language what came out; what could not be printed
    waits for a clerk, as after any print failure."""
    m.emit(
        A.Record(
            "recovered",
            {"documents": ev.certificates, "given_back": ev.given_back_yen,
             "reprint": len(ev.reprint)},
        )
    )  # fmt: skip
    m.data.lang = ev.lang
    if ev.certificates:
        m.pages_in_tray = True  # the sensor clears it when they are taken
    if ev.given_back_yen:
        m.change_in_tray = True
    if ev.reprint:
        m.pending_reprint += tuple(n for n in ev.reprint if n not in m.pending_reprint)
        m.faults.add(E.Device.PRINTER)
        m.emit(A.SoundAlarm(A.AlarmPattern.CALL_CLERK))
        return State.PRINT_FAILED
    m.data.recovered = (ev.certificates, ev.given_back_yen)
    return m.notice("interrupted")


def collect_check(m: SessionMachine, ev: Any) -> State:
    m.track_items(ev)
    if not m.items_left():
        m.emit(A.SetGuide(A.Guide.OUTPUT_TRAY, False))
        return State.THANKS
    return State.COLLECT


def collect_timeout(m: SessionMachine, ev: E.Timeout) -> State:
    return m.finish()


def thanks_done(m: SessionMachine, ev: Any) -> State:
    return m.finish()


def cancel(m: SessionMachine, ev: E.Cancel) -> State:
    m.emit(A.Record("cancelled", {"state": m.state.value}))
    m.handover.here = True
    return m.end_session()


def walked_away(m: SessionMachine, ev: E.Timeout) -> State:
    m.emit(A.Record("timeout", {"state": m.state.value}))
    return m.end_session()


def progress_timeout(m: SessionMachine, ev: E.Timeout) -> State:
    m.emit(A.Log("timeout", {"state": m.state.value}))
    if m.state is State.PIN_CHECK:
        return m.notice("card_error")
    m.faults.add(E.Device.CENTER)
    return m.notice("center_unavailable")


def notice_done(m: SessionMachine, ev: Any) -> State:
    return m.end_session()


def refund_done(m: SessionMachine, ev: E.RefundDone) -> State:
    if ev.short_yen > 0:
        m.emit(A.IssueVoucher(ev.short_yen))
        m.emit(A.Log("voucher", {"amount": ev.short_yen}))
    m.emit(A.Log("refunded", {"amount": ev.refunded_yen}))
    # The payment module reports what it actually returned; money that arrived late (a coin
    # dropped while the refund started) is still held and goes back in another round.
    m.held_yen = max(0, m.held_yen - ev.refunded_yen - ev.short_yen)
    m.handover.paid_out(ev.refunded_yen, refund=True)
    if m.held_yen > 0:
        m.emit(A.Refund(m.held_yen))
        return State.REFUNDING
    if m.handover.here and (m.handover.tray_yen or m.items_left()):
        return handed_back(m)
    return m.finish()


def handed_back(m: SessionMachine) -> State:
    """The citizen cancelled and stands here: the collect screen tells them the amount
    returned and lists what to take, rather than the left-behind alarm the moment the
    coins drop (its escalation follows only if they walk away)."""
    m.wipe_data(keep_lang=True)
    m.light_guides()
    return State.COLLECT


def late_money(m: SessionMachine, ev: E.MoneyInserted) -> State:
    delta = ev.total_yen - m.data.inserted_yen
    if delta > 0:
        m.data.inserted_yen = ev.total_yen
        m.held_yen += delta
        m.emit(A.Log("late_money", {"amount": delta}))
    return State.REFUNDING


def refund_timeout(m: SessionMachine, ev: E.Timeout) -> State:
    # The hoppers never answered: the citizen leaves with a voucher for all that is held.
    m.emit(A.IssueVoucher(m.held_yen))
    m.emit(A.Log("voucher", {"amount": m.held_yen}))
    m.held_yen = 0
    return m.finish()


def fault_in_session(m: SessionMachine, ev: E.DeviceHealth) -> State:
    changed = m.set_health(ev)
    if ev.ok or not changed:
        return m.state
    m.emit(A.Record("device_fault", {"device": ev.device.value, "state": m.state.value}))
    return m.end_session(notice="out_of_service")


def health_record(m: SessionMachine, ev: E.DeviceHealth) -> State:
    if m.set_health(ev) and not ev.ok:
        m.emit(A.Record("device_fault", {"device": ev.device.value, "state": m.state.value}))
    return m.state


def health_at_rest(m: SessionMachine, ev: E.DeviceHealth) -> State:
    if m.set_health(ev):
        m.emit(A.Log("device_health", {"device": ev.device.value, "ok": int(ev.ok)}))
        if not ev.ok:
            m.emit(A.Record("device_fault", {"device": ev.device.value, "state": m.state.value}))
    return m.rest_state()


def tick_at_rest(m: SessionMachine, ev: E.Tick) -> State:
    m.set_time(ev.now)
    return m.rest_state()


def tick_record(m: SessionMachine, ev: E.Tick) -> State:
    # A session in progress is finished even if closing time passes meanwhile.
    m.set_time(ev.now)
    return m.state


def track(m: SessionMachine, ev: Any) -> State:
    m.track_items(ev)
    return m.state


def left_behind_check(m: SessionMachine, ev: Any) -> State:
    m.track_items(ev)
    if m.items_left():
        return m.state
    if m.state is State.LEFT_BEHIND_ALARM:
        m.emit(A.StopAlarm())
    for guide in A.Guide:
        m.emit(A.SetGuide(guide, False))
    m.emit(A.Log("left_behind_cleared", {"level": m.state.value}))
    m.handover.clear()
    return m.rest_state()


def left_behind_escalate(m: SessionMachine, ev: E.Timeout) -> State:
    items = m.items_left()
    m.emit(A.Log("left_behind", {"items": ",".join(items), "level": m.state.value}))
    if m.state is State.LEFT_BEHIND_SCREEN:
        m.announce_items()
        return State.LEFT_BEHIND_VOICE
    if m.state is State.LEFT_BEHIND_VOICE:
        m.emit(A.SoundAlarm(A.AlarmPattern.LEFT_BEHIND))
    m.announce_items()
    return State.LEFT_BEHIND_ALARM


def print_failed_repeat(m: SessionMachine, ev: E.Timeout) -> State:
    m.emit(A.PlayVoice(A.VoicePrompt.PRINT_FAILED))
    return State.PRINT_FAILED


def clerk_requested(m: SessionMachine, ev: E.ClerkRequested) -> State:
    return State.CLERK_PIN


def clerk_pin_entered(m: SessionMachine, ev: E.ClerkPinEntered) -> State:
    m.emit(A.CheckClerkPin(ev.pin))
    return State.CLERK_CHECK


def clerk_pin_checked(m: SessionMachine, ev: E.ClerkPinChecked) -> State:
    # The clerk port has journaled the sign-in, the failure or the lockout by now.
    m.emit(A.Log("clerk_login", {"ok": int(ev.ok), "locked": int(ev.locked)}))
    if ev.locked:
        m.reject_input("clerk_locked")
        return State.CLERK_PIN
    if not ev.ok:
        m.reject_input("clerk_pin_wrong")
        return State.CLERK_PIN
    m.clerk.clear()
    m.clerk.clerk_id = ev.clerk
    read_status(m)
    return State.CLERK


def audit(m: SessionMachine, event: str, **fields: str | int) -> None:
    """A clerk's doing for the journal's audit trail, with who is signed in. Emitted before
    the operation's own action: both go to the clerk port in order."""
    m.emit(A.ClerkAudit(event, m.clerk.clerk_id, fields))


def clerk_reprint(m: SessionMachine, ev: E.ClerkReprint) -> State:
    if not m.pending_reprint:
        return m.reject_input("nothing_to_reprint")
    if m.clerk.busy == "reprint":
        # A second reprint of copies already on their way would find them pending at the
        # center and report them failed while they print.
        return m.reject_input("clerk_busy")
    m.clerk.busy = "reprint"
    audit(m, "op", op="reprint", documents=len(m.pending_reprint))
    m.emit(A.Reprint(m.pending_reprint))
    m.emit(A.Log("clerk_reprint", {"documents": len(m.pending_reprint)}))
    return State.CLERK


def clerk_printed(m: SessionMachine, ev: E.Printed) -> State:
    return clerk_print_failed(m, E.PrintFailed("", printed=m.pending_reprint))


def clerk_print_failed(m: SessionMachine, ev: E.PrintFailed) -> State:
    """The reprint's outcome, copy by copy: what came out is final at the center; what did
    not is reported failed again, so the center lets the clerk reprint it once the printer
    is fixed, and it stays on the clerk's list."""
    if m.clerk.busy == "reprint":
        m.clerk.busy = ""
    numbers = m.pending_reprint
    missing = report_copies(m, numbers, ev, reason="reprint")
    m.pending_reprint = missing
    out = len(numbers) - len(missing)
    if out:
        m.emit(A.Record("reprinted", {"documents": out}))
    if missing:
        m.emit(A.Record("print_failed", {"reason": ev.reason, "documents": len(missing)}))
        audit(m, "op_failed", op="reprint", error=ev.reason)
        m.data.input_error = "reprint_failed"
        return m.state
    m.faults.discard(E.Device.PRINTER)
    m.emit(A.StopAlarm())
    return m.state


CLERK_SCREENS = {
    "status": State.CLERK,
    "refill": State.CLERK_REFILL,
    "collect": State.CLERK_COLLECT,
    "report": State.CLERK_REPORT,
}


def clerk_menu(m: SessionMachine, ev: E.ClerkMenu) -> State:
    target = CLERK_SCREENS.get(ev.item)
    if target is None:
        return m.reject_input("bad_message")
    m.clerk.done = ""
    if target is State.CLERK_REPORT:
        m.clerk.day = ""
        m.clerk.report = {}
        m.clerk.busy = "report"
        audit(m, "op", op="report", day="")
        m.emit(A.BuildReport())
    else:
        read_status(m)
    return target


def clerk_back(m: SessionMachine, ev: E.Back) -> State:
    return clerk_menu(m, E.ClerkMenu("status"))


def read_status(m: SessionMachine) -> None:
    m.clerk.reading = True
    m.emit(A.ReadClerkStatus())


def clerk_refresh(m: SessionMachine, ev: E.ClerkRefresh) -> State:
    # A slow device (a printer timing out) must not make the screen's periodic refreshes
    # queue up behind it: one read at a time.
    if not m.clerk.reading:
        read_status(m)
    return m.state


def clerk_status_read(m: SessionMachine, ev: E.ClerkStatusRead) -> State:
    m.clerk.status = dict(ev.status)
    m.clerk.reading = False
    return m.state


def clerk_refill(m: SessionMachine, ev: E.ClerkRefill) -> State:
    if m.clerk.busy:
        return m.reject_input("clerk_busy")
    hopper = m.clerk.hopper(ev.hopper)
    if hopper is None:
        return m.reject_input("refill_hopper")
    if ev.coins <= 0:
        return m.reject_input("refill_count")
    if ev.coins + int(hopper.get("coins", 0)) > int(hopper.get("capacity", 0)):
        return m.reject_input("refill_over_capacity")
    m.clerk.busy = "refill"
    m.clerk.done = ""
    audit(m, "op", op="refill", hopper=ev.hopper, coins=ev.coins)
    m.emit(A.RefillHopper(ev.hopper, ev.coins, clerk=m.clerk.clerk_id))
    return State.CLERK_REFILL


def clerk_collect(m: SessionMachine, ev: E.ClerkCollect) -> State:
    if m.clerk.busy:
        return m.reject_input("clerk_busy")
    if ev.through_seq != m.clerk.status.get("collect_through"):
        return m.reject_input("collect_changed")  # the screen showed older figures
    if not m.clerk.expected_total():
        return m.reject_input("nothing_to_collect")
    m.clerk.busy = "collect"
    audit(m, "op", op="collect", through=ev.through_seq)
    m.emit(A.CollectCash(ev.through_seq, clerk=m.clerk.clerk_id))
    return State.CLERK_COLLECT


def clerk_report_day(m: SessionMachine, ev: E.ClerkReportDay) -> State:
    try:
        date.fromisoformat(ev.day)
    except ValueError:
        return m.reject_input("report_day")
    m.clerk.day = ev.day
    m.clerk.busy = "report"
    m.clerk.done = ""
    audit(m, "op", op="report", day=ev.day)
    m.emit(A.BuildReport(ev.day))
    return State.CLERK_REPORT


def clerk_print_report(m: SessionMachine, ev: E.ClerkPrintReport) -> State:
    if m.clerk.busy:
        return m.reject_input("clerk_busy")
    m.clerk.busy = "print_report"
    m.clerk.done = ""
    audit(m, "op", op="print_report", day=m.clerk.day)
    m.emit(A.PrintReport(m.clerk.day))
    return State.CLERK_REPORT


def clerk_done(m: SessionMachine, ev: E.ClerkDone) -> State:
    if ev.op == "status":
        m.clerk.reading = False  # the read failed: the next refresh tries again
    if m.clerk.busy == ev.op:
        m.clerk.busy = ""
    m.emit(A.Log(f"clerk_{ev.op}", {"ok": int(ev.ok), "error": ev.error or "-"}))
    if not ev.ok:
        if ev.op != "status":
            audit(m, "op_failed", op=ev.op, error=ev.error or "clerk_failed")
        m.data.input_error = ev.error or "clerk_failed"
        return m.state
    if ev.op == "report":
        m.clerk.report = dict(ev.data)
        return m.state
    if ev.op == "print_report":
        m.clerk.done = "report_printed"
        return m.state
    # Refill and collection are journaled by now: only then does the screen move on.
    if ev.op == "status":
        return m.state
    m.clerk.done = f"{ev.op}_done"
    m.clerk.done_yen = int(str(ev.data.get("yen", 0)))
    read_status(m)
    return State.CLERK


def clerk_exit(m: SessionMachine, ev: Any) -> State:
    m.emit(A.Log("clerk_logout", {}))
    if m.state in CLERK_MENU:  # signed in (not just at the PIN pad)
        audit(m, "signout", reason="timeout" if isinstance(ev, E.Timeout) else "exit")
    handed_over = m.state in CLERK_MENU
    m.clerk.clear()
    if m.pending_reprint and not handed_over:
        return State.PRINT_FAILED  # no clerk has seen the failure yet: keep calling
    if m.pending_reprint:
        # A signed-in clerk has the copies on the clerk screen's list: the kiosk goes back
        # to rest for the next citizen (out of service while a device is down) and the
        # alarm that called the clerk stops.
        m.emit(A.StopAlarm())
    return m.finish()


def back(target: State) -> Effect:
    def effect(m: SessionMachine, ev: E.Back) -> State:
        m.data.input_error = ""
        return target

    return effect


def back_from_options(m: SessionMachine, ev: E.Back) -> State:
    offer = m.current_offer()
    return State.SUBJECT if offer and len(offer.members) > 1 else State.CERTIFICATE


def back_from_copies(m: SessionMachine, ev: E.Back) -> State:
    offer = m.current_offer()
    if m.data.kind is CertificateType.JUMINHYO:
        return State.OPTIONS
    if offer and len(offer.fiscal_years) > 1:
        return State.FISCAL_YEAR
    return State.CERTIFICATE


# --- the table ---------------------------------------------------------------------------


def _rows() -> Iterable[Row]:
    S = State

    def row(state: State, event: type[E.Event], targets: Iterable[State], effect: Effect) -> Row:
        return Row(state, event, frozenset(targets), effect)

    notice_or = lambda *t: {S.NOTICE, *t}  # noqa: E731

    # the main path, SPEC §2
    yield row(S.IDLE, E.StartPressed, {S.LANGUAGE}, start)
    yield row(S.LANGUAGE, E.LanguageChosen, {S.CARD, S.LANGUAGE}, choose_language)
    yield row(S.CARD, E.CardInserted, notice_or(S.PIN), card_inserted)
    yield row(S.CARD, E.CardRejected, notice_or(), card_rejected)
    yield row(S.PIN, E.PinEntered, {S.PIN_CHECK}, pin_entered)
    yield row(S.PIN_CHECK, E.PinAccepted, {S.AUTHENTICATING}, pin_accepted)
    yield row(S.PIN_CHECK, E.PinWrong, notice_or(S.PIN), pin_wrong)
    yield row(S.PIN_CHECK, E.CardBlocked, notice_or(), card_blocked)
    yield row(S.PIN_CHECK, E.CardError, notice_or(), card_error)
    yield row(S.AUTHENTICATING, E.ChallengeIssued, {S.AUTHENTICATING}, challenge_issued)
    yield row(S.AUTHENTICATING, E.ChallengeSigned, {S.AUTHENTICATING}, challenge_signed)
    yield row(S.AUTHENTICATING, E.CardError, notice_or(), card_error)
    yield row(S.AUTHENTICATING, E.CardBlocked, notice_or(), card_blocked)
    yield row(S.AUTHENTICATING, E.Authenticated, notice_or(S.CERTIFICATE), authenticated)
    yield row(S.AUTHENTICATING, E.Refused, notice_or(), refused)
    yield row(S.AUTHENTICATING, E.CenterUnavailable, notice_or(), center_unavailable)
    for s in (S.PIN, S.PIN_CHECK, S.AUTHENTICATING):
        yield row(s, E.CardRemoved, notice_or(), card_removed_mid_auth)
    yield row(
        S.CERTIFICATE,
        E.CertificateChosen,
        {S.SUBJECT, S.OPTIONS, S.FISCAL_YEAR, S.COPIES, S.CERTIFICATE},
        certificate_chosen,
    )
    yield row(S.SUBJECT, E.SubjectsChosen, {S.OPTIONS, S.SUBJECT}, subjects_chosen)
    yield row(S.SUBJECT, E.Back, {S.CERTIFICATE}, back(S.CERTIFICATE))
    yield row(
        S.OPTIONS, E.OptionsChosen, {S.MY_NUMBER_WARNING, S.COPIES, S.OPTIONS}, options_chosen
    )
    yield row(S.OPTIONS, E.Back, {S.SUBJECT, S.CERTIFICATE}, back_from_options)
    yield row(S.MY_NUMBER_WARNING, E.WarningAcknowledged, {S.COPIES}, warning_acknowledged)
    yield row(S.MY_NUMBER_WARNING, E.Back, {S.OPTIONS}, back(S.OPTIONS))
    yield row(S.FISCAL_YEAR, E.FiscalYearChosen, {S.COPIES, S.FISCAL_YEAR}, fiscal_year_chosen)
    yield row(S.FISCAL_YEAR, E.Back, {S.CERTIFICATE}, back(S.CERTIFICATE))
    yield row(S.COPIES, E.CopiesChosen, {S.QUOTING, S.COPIES}, copies_chosen)
    yield row(S.COPIES, E.Back, {S.OPTIONS, S.FISCAL_YEAR, S.CERTIFICATE}, back_from_copies)
    yield row(S.QUOTING, E.QuoteReady, notice_or(S.FEE), quote_ready)
    yield row(S.QUOTING, E.Refused, notice_or(), refused)
    yield row(S.QUOTING, E.CenterUnavailable, notice_or(), center_unavailable)
    yield row(S.FEE, E.FeeConfirmed, {S.PAYMENT}, fee_confirmed)
    yield row(S.FEE, E.Back, {S.COPIES}, back(S.COPIES))
    yield row(S.PAYMENT, E.MoneyInserted, {S.PAYMENT}, money_inserted)
    yield row(S.PAYMENT, E.PaymentComplete, END_TARGETS | {S.ISSUING}, payment_complete)
    yield row(S.ISSUING, E.Issued, END_TARGETS | {S.PRINTING}, issued)
    yield row(S.ISSUING, E.Refused, END_TARGETS, issue_failed_refund)
    yield row(S.ISSUING, E.CenterUnavailable, END_TARGETS, issue_failed_refund)
    yield row(S.ISSUING, E.Timeout, END_TARGETS, issue_failed_refund)
    yield row(S.PRINTING, E.PrintProgress, {S.PRINTING}, print_progress)
    yield row(S.PRINTING, E.Printed, {S.COLLECT}, printed)
    yield row(S.PRINTING, E.PrintFailed, {S.PRINT_FAILED, S.COLLECT}, print_failed)
    yield row(
        S.PRINTING,
        E.Timeout,
        {S.PRINT_FAILED},
        lambda m, ev: print_failed(m, E.PrintFailed("timeout")),
    )
    yield row(S.PRINT_FAILED, E.Timeout, {S.PRINT_FAILED}, print_failed_repeat)
    for ev_type in (E.CardRemoved, E.OutputTray, E.ChangeTray, E.NoticeAcknowledged):
        yield row(S.COLLECT, ev_type, {S.COLLECT, S.THANKS}, collect_check)
    yield row(S.COLLECT, E.Timeout, FINISH_TARGETS, collect_timeout)
    yield row(S.THANKS, E.Timeout, FINISH_TARGETS, thanks_done)
    yield row(S.THANKS, E.NoticeAcknowledged, FINISH_TARGETS, thanks_done)
    yield row(S.NOTICE, E.NoticeAcknowledged, END_TARGETS, notice_done)
    yield row(S.NOTICE, E.Timeout, END_TARGETS, notice_done)
    yield row(S.REFUNDING, E.RefundDone, FINISH_TARGETS | {S.REFUNDING, S.COLLECT}, refund_done)
    yield row(S.REFUNDING, E.MoneyInserted, {S.REFUNDING}, late_money)
    yield row(S.REFUNDING, E.Timeout, FINISH_TARGETS, refund_timeout)

    # cancel and walking away
    for s in CANCELLABLE:
        yield row(s, E.Cancel, END_TARGETS, cancel)
    for s in CITIZEN_WAITING:
        yield row(s, E.Timeout, END_TARGETS, walked_away)
    for s in (S.PIN_CHECK, S.AUTHENTICATING, S.QUOTING):
        yield row(s, E.Timeout, notice_or(), progress_timeout)

    # devices and the center becoming (un)usable
    for s in RESTING:
        yield row(s, E.Recovered, {S.NOTICE, S.PRINT_FAILED}, recovered)
        yield row(s, E.DeviceHealth, RESTING, health_at_rest)
        yield row(s, E.Tick, RESTING, tick_at_rest)
    for s in CANCELLABLE:
        yield row(s, E.DeviceHealth, END_TARGETS | {s}, fault_in_session)
    others = (
        set(State) - RESTING - CANCELLABLE
    )  # issuing, printing, collect...: finish first, then go out of service
    for s in others:
        yield row(s, E.DeviceHealth, {s}, health_record)
    for s in set(State) - RESTING:
        yield row(s, E.Tick, {s}, tick_record)

    # card and trays: tracked everywhere, for the left-behind check at session end
    tracked_elsewhere = set(State) - LEFT_BEHIND - {S.COLLECT}
    for s in tracked_elsewhere:
        for ev_type in (E.OutputTray, E.ChangeTray):
            yield row(s, ev_type, {s}, track)
        if s not in (S.PIN, S.PIN_CHECK, S.AUTHENTICATING):
            yield row(s, E.CardRemoved, {s}, track)
        if s is not S.CARD:
            yield row(s, E.CardInserted, {s}, track)
    for s in LEFT_BEHIND:
        for lb_type in (E.CardRemoved, E.OutputTray, E.ChangeTray, E.CardInserted):
            yield row(s, lb_type, RESTING | {s}, left_behind_check)
        yield row(s, E.Timeout, {S.LEFT_BEHIND_VOICE, S.LEFT_BEHIND_ALARM}, left_behind_escalate)

    # clerk mode
    for s in RESTING | {S.PRINT_FAILED}:
        yield row(s, E.ClerkRequested, {S.CLERK_PIN}, clerk_requested)
    yield row(S.CLERK_PIN, E.ClerkPinEntered, {S.CLERK_CHECK}, clerk_pin_entered)
    yield row(S.CLERK_CHECK, E.ClerkPinChecked, {S.CLERK, S.CLERK_PIN}, clerk_pin_checked)
    yield row(S.CLERK, E.ClerkReprint, {S.CLERK}, clerk_reprint)
    yield row(S.CLERK_REFILL, E.ClerkRefill, {S.CLERK_REFILL}, clerk_refill)
    yield row(S.CLERK_COLLECT, E.ClerkCollect, {S.CLERK_COLLECT}, clerk_collect)
    yield row(S.CLERK_REPORT, E.ClerkReportDay, {S.CLERK_REPORT}, clerk_report_day)
    yield row(S.CLERK_REPORT, E.ClerkPrintReport, {S.CLERK_REPORT}, clerk_print_report)
    for s in CLERK_MENU:
        # a reprint started from the menu may finish while the clerk is on another screen
        yield row(s, E.Printed, {s}, clerk_printed)
        yield row(s, E.PrintFailed, {s}, clerk_print_failed)
        yield row(s, E.ClerkMenu, CLERK_MENU, clerk_menu)
        yield row(s, E.ClerkRefresh, {s}, clerk_refresh)
        yield row(s, E.ClerkStatusRead, {s}, clerk_status_read)
        yield row(s, E.ClerkDone, {s, S.CLERK}, clerk_done)
        if s is not S.CLERK:
            yield row(s, E.Back, {S.CLERK}, clerk_back)
    for s in CLERK_STATES:
        yield row(s, E.ClerkExit, FINISH_TARGETS | {S.PRINT_FAILED}, clerk_exit)
        yield row(s, E.Timeout, FINISH_TARGETS | {S.PRINT_FAILED}, clerk_exit)


def build_table() -> dict[tuple[State, type[E.Event]], Row]:
    table: dict[tuple[State, type[E.Event]], Row] = {}
    for r in _rows():
        key = (r.state, r.event)
        if key in table:
            raise ValueError(f"two rows for {r.state.value} x {r.event.__name__}")
        table[key] = r
    return table


TABLE = build_table()

# Sanity of the state groups against the timeouts: every state outside rest waits on a timer.
assert set(DEFAULT_TIMEOUTS) == set(State) - RESTING
assert IN_SESSION <= set(DEFAULT_TIMEOUTS)
