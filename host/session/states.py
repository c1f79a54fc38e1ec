"""The session's named states, which of them wait on what, and how long each may wait."""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    # resting states: no citizen session
    CLOSED = "closed"  # outside 6:30-23:00 Asia/Tokyo or in a maintenance window
    OUT_OF_SERVICE = "out_of_service"  # a device or the center is not usable
    IDLE = "idle"
    # the citizen's session, SPEC §2
    LANGUAGE = "language"
    CARD = "card"  # waiting for the My Number card on the reader
    PIN = "pin"  # PIN pad, tries left shown
    PIN_CHECK = "pin_check"  # the card is checking the PIN
    AUTHENTICATING = "authenticating"  # challenge, card signature, center check
    CERTIFICATE = "certificate"  # which certificate
    SUBJECT = "subject"  # whose 住民票: self and/or household members
    OPTIONS = "options"  # 住民票 option groups allowed by nationality
    MY_NUMBER_WARNING = "my_number_warning"
    FISCAL_YEAR = "fiscal_year"  # 所得 / 所得課税 when more than one year is on record
    COPIES = "copies"
    QUOTING = "quoting"  # the center prices the order
    FEE = "fee"  # fee shown, waiting for confirmation
    PAYMENT = "payment"  # cash accepted until the fee is covered
    REFUNDING = "refunding"  # unspent money going back (or vouchered)
    ISSUING = "issuing"  # the center issues against the payment
    PRINTING = "printing"
    PRINT_FAILED = "print_failed"  # paid, not printed: a clerk reprints, no second fee
    COLLECT = "collect"  # take card, pages, change, receipt
    THANKS = "thanks"
    NOTICE = "notice"  # a refusal or fault explained; OK or timeout ends the session
    # left-behind escalation after the session ended: screen, then voice, then alarm
    LEFT_BEHIND_SCREEN = "left_behind_screen"
    LEFT_BEHIND_VOICE = "left_behind_voice"
    LEFT_BEHIND_ALARM = "left_behind_alarm"
    # clerk (maintenance) mode, own PIN
    CLERK_PIN = "clerk_pin"
    CLERK_CHECK = "clerk_check"
    CLERK = "clerk"  # menu, live device status, reprint
    CLERK_REFILL = "clerk_refill"
    CLERK_COLLECT = "clerk_collect"
    CLERK_REPORT = "clerk_report"


RESTING = frozenset({State.CLOSED, State.OUT_OF_SERVICE, State.IDLE})

# States where the kiosk waits for the citizen to do something: cancel is offered and walking
# away (the timeout) ends the session, refunding any money taken.
CITIZEN_WAITING = frozenset(
    {
        State.LANGUAGE,
        State.CARD,
        State.PIN,
        State.CERTIFICATE,
        State.SUBJECT,
        State.OPTIONS,
        State.MY_NUMBER_WARNING,
        State.FISCAL_YEAR,
        State.COPIES,
        State.FEE,
        State.PAYMENT,
    }
)

# Waits on a device or the center before any money is committed: cancel is still offered.
CANCELLABLE_PROGRESS = frozenset({State.PIN_CHECK, State.AUTHENTICATING, State.QUOTING})

CANCELLABLE = CITIZEN_WAITING | CANCELLABLE_PROGRESS

# Inside a citizen session (personal data may be held).
IN_SESSION = CANCELLABLE | frozenset(
    {State.REFUNDING, State.ISSUING, State.PRINTING, State.COLLECT, State.THANKS, State.NOTICE}
)

LEFT_BEHIND = frozenset(
    {State.LEFT_BEHIND_SCREEN, State.LEFT_BEHIND_VOICE, State.LEFT_BEHIND_ALARM}
)

CLERK_STATES = frozenset(
    {
        State.CLERK_PIN,
        State.CLERK_CHECK,
        State.CLERK,
        State.CLERK_REFILL,
        State.CLERK_COLLECT,
        State.CLERK_REPORT,
    }
)
# Logged in: the clerk's own screens.
CLERK_MENU = CLERK_STATES - {State.CLERK_PIN, State.CLERK_CHECK}

# Default timeouts, seconds. Every state that waits has one; resting states have none.
DEFAULT_TIMEOUTS: dict[State, float] = {
    State.LANGUAGE: 60,
    State.CARD: 60,
    State.PIN: 60,
    State.PIN_CHECK: 15,
    State.AUTHENTICATING: 30,
    State.CERTIFICATE: 90,
    State.SUBJECT: 90,
    State.OPTIONS: 90,
    State.MY_NUMBER_WARNING: 90,
    State.FISCAL_YEAR: 90,
    State.COPIES: 90,
    State.QUOTING: 15,
    State.FEE: 90,
    State.PAYMENT: 120,
    State.REFUNDING: 60,
    State.ISSUING: 30,
    State.PRINTING: 180,
    State.PRINT_FAILED: 60,  # re-announces "please call the clerk"
    State.COLLECT: 30,
    State.THANKS: 8,
    State.NOTICE: 30,
    State.LEFT_BEHIND_SCREEN: 15,
    State.LEFT_BEHIND_VOICE: 15,
    State.LEFT_BEHIND_ALARM: 30,  # re-announces while the alarm sounds
    State.CLERK_PIN: 30,
    State.CLERK_CHECK: 10,
    State.CLERK: 300,
    State.CLERK_REFILL: 300,
    State.CLERK_COLLECT: 300,
    State.CLERK_REPORT: 300,
}
