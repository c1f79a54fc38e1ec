"""The session machine: feed it events, get actions back. No I/O, no clock, no threads.

All decisions live in :mod:`host.session.table`; this class holds the state the effects read
and write, arms timers and announces each screen when a state is entered.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from documents.model import CertificateType, JuminhyoOption

from . import actions as A
from . import events as E
from .clerk import ClerkData
from .data import SessionData
from .handover import Handover
from .hours import MaintenanceWindow, is_open
from .pin import ClerkPin, Pin
from .states import CLERK_MENU, CLERK_STATES, DEFAULT_TIMEOUTS, LEFT_BEHIND, RESTING, State
from .table import TABLE, Row

LANGUAGES = ("ja", "en", "zh", "ko", "pt", "es", "vi")


class TransitionError(RuntimeError):
    """An effect chose a state its table row does not allow: a defect in the table."""


@dataclass(frozen=True)
class SessionConfig:
    timeouts: dict[State, float] = field(default_factory=lambda: dict(DEFAULT_TIMEOUTS))
    max_copies: int = 10
    languages: tuple[str, ...] = LANGUAGES
    maintenance: tuple[MaintenanceWindow, ...] = ()
    clerk_lang: str = "ja"  # the clerk screens' language, never the last citizen's


# Voice prompt played when a state is entered (in the citizen's language: `emit`).
ENTRY_VOICE: dict[State, A.VoicePrompt] = {
    State.LANGUAGE: A.VoicePrompt.WELCOME,
    State.CARD: A.VoicePrompt.PLACE_CARD,
    State.PIN: A.VoicePrompt.ENTER_PIN,
    State.AUTHENTICATING: A.VoicePrompt.PLEASE_WAIT,
    State.CERTIFICATE: A.VoicePrompt.CHOOSE_CERTIFICATE,
    State.SUBJECT: A.VoicePrompt.CHOOSE_SUBJECT,
    State.OPTIONS: A.VoicePrompt.CHOOSE_OPTIONS,
    State.MY_NUMBER_WARNING: A.VoicePrompt.MY_NUMBER_WARNING,
    State.FISCAL_YEAR: A.VoicePrompt.CHOOSE_YEAR,
    State.COPIES: A.VoicePrompt.CHOOSE_COPIES,
    State.FEE: A.VoicePrompt.CONFIRM_FEE,
    State.PAYMENT: A.VoicePrompt.INSERT_MONEY,
    State.REFUNDING: A.VoicePrompt.REFUNDING,
    State.ISSUING: A.VoicePrompt.PLEASE_WAIT,
    State.PRINTING: A.VoicePrompt.PRINTING,
    State.PRINT_FAILED: A.VoicePrompt.PRINT_FAILED,
    State.COLLECT: A.VoicePrompt.TAKE_ITEMS,
    State.THANKS: A.VoicePrompt.THANK_YOU,
}

ITEM_VOICE = {
    "card": A.VoicePrompt.TAKE_CARD,
    "pages": A.VoicePrompt.TAKE_PAGES,
    "change": A.VoicePrompt.TAKE_CHANGE,
}
ITEM_GUIDE = {"card": A.Guide.CARD, "pages": A.Guide.OUTPUT_TRAY, "change": A.Guide.CHANGE_TRAY}


def notice_voice(key: str) -> A.VoicePrompt:
    if key == "card_blocked":
        return A.VoicePrompt.CARD_BLOCKED
    if key.startswith("card_"):
        return A.VoicePrompt.CARD_REJECTED
    if key in ("out_of_service", "center_unavailable"):
        return A.VoicePrompt.OUT_OF_SERVICE
    return A.VoicePrompt.REFUSED


class SessionMachine:
    def __init__(
        self,
        now: datetime,
        config: SessionConfig | None = None,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self.config = config or SessionConfig()
        self._new_id = new_id
        self.data = SessionData()
        self.faults: set[E.Device] = set()
        self.open = is_open(now, self.config.maintenance)
        self.card_present = False
        self.pages_in_tray = False
        self.change_in_tray = False
        self.held_yen = 0  # taken from the citizen, neither spent on issuance nor returned
        self.handover = Handover()
        self.pending_reprint: tuple[str, ...] = ()
        self.clerk = ClerkData()
        self.seq = 0
        self.state = self.rest_state()
        self._out: list[A.Action] = []

    # --- the one entry point ---------------------------------------------------------------

    def handle(self, event: E.Event) -> list[A.Action]:
        row: Row | None = TABLE.get((self.state, type(event)))
        if isinstance(event, E.Timeout) and event.seq != self.seq:
            row = None  # a timer from an earlier state
        self._out = []
        if row is None:
            self._drop_pin(event)
            return []
        prev = self.state
        if event.activity:
            self.data.input_error = ""
        nxt = row.effect(self, event)
        if nxt not in row.targets:
            raise TransitionError(
                f"{prev.value} x {type(event).__name__} chose {nxt.value}, "
                f"allowed: {sorted(s.value for s in row.targets)}"
            )
        self._drop_pin(event)
        self.state = nxt
        entered = nxt is not prev
        if entered or event.activity or isinstance(event, E.Timeout):
            self._arm_timer()
        if entered:
            self._on_enter(prev, nxt)
        self._out.append(A.Show(nxt.value, self.view()))
        out, self._out = self._out, []
        return out

    def start_actions(self) -> list[A.Action]:
        """What to do on start-up: arm the first timer (if any) and show the first screen."""
        self._out = []
        self._arm_timer()
        self._out.append(A.Show(self.state.value, self.view()))
        out, self._out = self._out, []
        return out

    # --- used by the table's effects -------------------------------------------------------

    def emit(self, action: A.Action) -> None:
        if isinstance(action, A.PlayVoice):
            # Every prompt is spoken in the language the citizen reads on the screen, the
            # left-behind reminders included.
            action = replace(action, lang=self.citizen_lang())
        self._out.append(action)

    def begin_session(self) -> None:
        self.data.wipe()
        self.handover.clear()
        self.data.session_id = self._new_id()
        self.data.idempotency_key = self._new_id()
        self.emit(A.Record("session_start", {"session": self.data.session_id}))

    def reject_input(self, key: str) -> State:
        self.data.input_error = key
        self.emit(A.Log("input_rejected", {"state": self.state.value, "reason": key}))
        return self.state

    def notice(self, key: str) -> State:
        self.data.notice = key
        return State.NOTICE

    def end_session(self, notice: str = "") -> State:
        """Leave the citizen's session: stop cash, return what is held, then finish."""
        if self.state is State.PAYMENT:
            self.emit(A.StopPayment())
        if notice:
            self.data.notice = notice
        if self.held_yen > 0:
            self.emit(A.Refund(self.held_yen))
            return State.REFUNDING
        if notice:
            return State.NOTICE
        return self.finish()

    def finish(self) -> State:
        self.emit(A.Log("session_end", {"session": self.data.session_id or "-"}))
        # The language outlives the personal data until the citizen has taken everything.
        self.handover.lang = self.data.lang
        self.wipe_data()
        items = self.items_left()
        if not items:
            self.handover.clear()
        if items:
            self.emit(A.Log("left_behind", {"items": ",".join(items), "level": "screen"}))
            self.light_guides()
            return State.LEFT_BEHIND_SCREEN
        return self.rest_state()

    def light_guides(self) -> None:
        """Light the guide of each item still to be taken."""
        for item in self.items_left():
            self.emit(A.SetGuide(ITEM_GUIDE[item], True))

    def wipe_data(self, keep_lang: bool = False) -> None:
        self.data.wipe(keep_lang=keep_lang)
        self.emit(A.Wipe())

    def citizen_lang(self) -> str:
        """The citizen's language: the session's while it runs, then the handover's until
        everything is taken."""
        return self.handover.lang if self.state in LEFT_BEHIND else self.data.lang

    def screen_lang(self) -> str:
        return self.config.clerk_lang if self.state in CLERK_STATES else self.citizen_lang()

    def rest_state(self) -> State:
        if not self.open:
            return State.CLOSED
        if self.faults:
            return State.OUT_OF_SERVICE
        return State.IDLE

    def set_health(self, ev: E.DeviceHealth) -> bool:
        """Record a device's health; True when it changed (monitors repeat themselves)."""
        was_ok = ev.device not in self.faults
        if ev.ok:
            self.faults.discard(ev.device)
        else:
            self.faults.add(ev.device)
        return was_ok != ev.ok

    def set_time(self, now: datetime) -> None:
        self.open = is_open(now, self.config.maintenance)

    def track_items(self, ev: Any) -> None:
        if isinstance(ev, E.CardRemoved):
            self.card_present = False
        elif isinstance(ev, E.CardInserted):
            self.card_present = True
        elif isinstance(ev, E.OutputTray):
            self.pages_in_tray = ev.occupied
        elif isinstance(ev, E.ChangeTray):
            self.change_in_tray = ev.occupied
            if not ev.occupied:
                self.handover.tray_yen = 0  # taken: no longer told

    def items_left(self) -> list[str]:
        flags = (
            ("card", self.card_present),
            ("pages", self.pages_in_tray),
            ("change", self.change_in_tray),
        )
        return [name for name, on in flags if on]

    def announce_items(self) -> None:
        for item in self.items_left():
            self.emit(A.PlayVoice(ITEM_VOICE[item]))

    def current_offer(self) -> E.Offer | None:
        if self.data.menu is None or self.data.kind is None:
            return None
        return self.data.menu.offer(self.data.kind)

    def max_copies(self) -> int:
        """The center's limit for the chosen type, within the kiosk's own."""
        offer = self.current_offer()
        center = offer.max_copies if offer is not None else None
        return min(self.config.max_copies, center or self.config.max_copies)

    def records_as_of(self) -> list[dict[str, Any]]:
        """How current the register is for whom the certificate shows, said before payment:
        per person for a household 住民票, the applicant's otherwise."""
        offer, menu = self.current_offer(), self.data.menu
        if offer is None or menu is None:
            return []
        if offer.kind is CertificateType.JUMINHYO:
            chosen = set(self.data.member_ids)
            return [
                {"name": m.name, "is_self": m.is_self, "date": m.data_as_of.isoformat()}
                for m in offer.members
                if m.member_id in chosen and m.data_as_of is not None
            ]
        if menu.data_as_of is None:
            return []
        return [{"name": "", "is_self": True, "date": menu.data_as_of.isoformat()}]

    def allowed_options(self) -> frozenset[JuminhyoOption]:
        offer = self.current_offer()
        if offer is None:
            return frozenset()
        chosen = set(self.data.member_ids)
        allowed: set[JuminhyoOption] = set()
        for member in offer.members:
            if member.member_id in chosen:
                allowed |= member.options
        return frozenset(allowed)

    # --- internals -------------------------------------------------------------------------

    def _arm_timer(self) -> None:
        self.seq += 1
        seconds = self.config.timeouts.get(self.state)
        if seconds is None or self.state in RESTING:
            self.emit(A.CancelTimer())
        else:
            self.emit(A.SetTimer(seconds, self.seq))

    def _on_enter(self, prev: State, nxt: State) -> None:
        if prev is State.CARD:
            self.emit(A.SetGuide(A.Guide.CARD, False))
        if nxt is State.CARD:
            self.emit(A.SetGuide(A.Guide.CARD, True))
        if nxt is State.NOTICE:
            self.emit(A.PlayVoice(notice_voice(self.data.notice)))
        elif nxt in ENTRY_VOICE:
            self.emit(A.PlayVoice(ENTRY_VOICE[nxt]))

    def _drop_pin(self, event: E.Event) -> None:
        # A PIN the machine did not hand on (ignored event) is wiped at once.
        if isinstance(event, (E.PinEntered, E.ClerkPinEntered)):
            handed_on = any(
                isinstance(a, (A.VerifyPin, A.CheckClerkPin)) and a.pin is event.pin
                for a in self._out
            )
            if not handed_on:
                event.pin.wipe()

    # --- what the screen shows -------------------------------------------------------------

    def view(self) -> dict[str, Any]:
        d = self.data
        v: dict[str, Any] = {
            "screen": self.state.value,
            "lang": self.screen_lang(),
            "input_error": d.input_error,
            "notice": d.notice,
            "faults": sorted(f.value for f in self.faults),
            "items": self.items_left(),
        }
        s = self.state
        if s is State.PIN or s is State.PIN_CHECK:
            v["tries_left"] = d.tries_left
            v["pin_error"] = d.pin_error
            v["pin_min"] = v["pin_max"] = Pin.LENGTH
        elif s is State.CLERK_PIN:
            v["pin_min"], v["pin_max"] = ClerkPin.MIN_LENGTH, ClerkPin.MAX_LENGTH
        elif s is State.AUTHENTICATING:
            v["auth_step"] = d.auth_step
        elif s is State.CERTIFICATE and d.menu is not None:
            v["offers"] = [
                {"kind": o.kind.value, "fee_per_copy_yen": o.fee_per_copy_yen}
                for o in d.menu.offers
            ]
        elif s is State.SUBJECT:
            offer = self.current_offer()
            v["members"] = [
                {"id": m.member_id, "name": m.name, "is_self": m.is_self}
                for m in (offer.members if offer else ())
            ]
        elif s is State.OPTIONS:
            v["allowed_options"] = sorted(o.value for o in self.allowed_options())
            v["options"] = sorted(o.value for o in d.options)
        elif s is State.FISCAL_YEAR:
            offer = self.current_offer()
            v["fiscal_years"] = list(offer.fiscal_years if offer else ())
        elif s is State.COPIES:
            offer = self.current_offer()
            v["kind"] = d.kind.value if d.kind else ""
            v["max_copies"] = self.max_copies()
            v["fee_per_copy_yen"] = offer.fee_per_copy_yen if offer else 0
        elif s in (State.FEE, State.PAYMENT):
            fee = d.quote.fee_yen if d.quote else 0
            if s is State.FEE:
                v["order"] = self.order_view()
            v["as_of"] = self.records_as_of()
            v["kind"] = d.kind.value if d.kind else ""
            v["copies"] = d.copies
            v["fee_yen"] = fee
            v["inserted_yen"] = d.inserted_yen
            v["remaining_yen"] = max(0, fee - d.inserted_yen)
        elif s is State.REFUNDING:
            v["refund_yen"] = self.held_yen
        elif s is State.NOTICE and d.notice == "interrupted":
            v["recovered_certificates"], v["recovered_yen"] = d.recovered
        elif s is State.COLLECT or s in LEFT_BEHIND:
            v.update(self.handover_view())
        elif s is State.PRINTING:
            v["page"], v["pages"] = d.page, d.pages
        elif s is State.PRINT_FAILED:
            v["reprint_pending"] = len(self.pending_reprint)
        elif s in CLERK_MENU:
            v["reprint_pending"] = len(self.pending_reprint)
            # certificate numbers only, so the clerk can match the pages: no content
            v["reprint_numbers"] = list(self.pending_reprint)
            v.update(self.clerk.view())
        elif s is State.CLOSED:
            v["hours"] = "6:30-23:00"
        return v

    def order_view(self) -> dict[str, Any]:
        """The order as the citizen confirms it before paying: whose record, which items,
        who issues it, how many, for how much. Names only of the 住民票's chosen members
        (the subject screen showed them already); other certificates are the card holder's."""
        d, offer = self.data, self.current_offer()
        menu = d.menu
        chosen = set(d.member_ids)
        subjects = [
            {"name": m.name, "is_self": m.is_self}
            for m in (offer.members if offer else ())
            if m.member_id in chosen
        ]
        return {
            "kind": d.kind.value if d.kind else "",
            "subjects": subjects if d.kind is CertificateType.JUMINHYO else [],
            "options": sorted(o.value for o in d.options),
            "my_number": JuminhyoOption.MY_NUMBER in d.options,
            "fiscal_year": d.fiscal_year,
            "municipality": menu.municipality if menu else "",
            "copies": d.copies,
            "fee_per_copy_yen": offer.fee_per_copy_yen if offer else 0,
        }

    def handover_view(self) -> dict[str, Any]:
        """What is left to take, with the money in the tray told in yen."""
        h = self.handover
        items = self.items_left()
        if h.receipt and self.state is State.COLLECT:
            items.append("receipt")
        v: dict[str, Any] = {"items": items}
        if h.tray_yen > 0:
            v["tray_yen"] = h.tray_yen
            v["tray_kind"] = "refund" if h.refunded else "change"
        return v

    def dump(self) -> dict[str, Any]:
        """A state dump for diagnostics: codes and counts only, no personal data, no PIN."""
        return {
            "state": self.state.value,
            "seq": self.seq,
            "faults": sorted(f.value for f in self.faults),
            "open": self.open,
            "items": self.items_left(),
            "held_yen": self.held_yen,
            "session": self.data.session_id,
            "kind": self.data.kind.value if self.data.kind else None,
            "copies": self.data.copies,
            "reprint_pending": len(self.pending_reprint),
        }
