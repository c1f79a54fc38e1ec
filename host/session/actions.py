"""What the session asks the world to do, as plain typed values the runner executes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from documents.model import CertificateType, JuminhyoOption

from .events import IssuedDocument
from .pin import ClerkPin, Pin


class VoicePrompt(StrEnum):
    """Fixed Japanese voice prompts; each has a WAV under host/voice/prompts/."""

    WELCOME = "welcome"
    PLACE_CARD = "place_card"
    ENTER_PIN = "enter_pin"
    PIN_WRONG = "pin_wrong"
    CARD_BLOCKED = "card_blocked"
    CARD_REJECTED = "card_rejected"
    PLEASE_WAIT = "please_wait"
    CHOOSE_CERTIFICATE = "choose_certificate"
    CHOOSE_SUBJECT = "choose_subject"
    CHOOSE_OPTIONS = "choose_options"
    MY_NUMBER_WARNING = "my_number_warning"
    CHOOSE_YEAR = "choose_year"
    CHOOSE_COPIES = "choose_copies"
    CONFIRM_FEE = "confirm_fee"
    INSERT_MONEY = "insert_money"
    REFUNDING = "refunding"
    PRINTING = "printing"
    PRINT_FAILED = "print_failed"
    TAKE_ITEMS = "take_items"
    THANK_YOU = "thank_you"
    REFUSED = "refused"
    OUT_OF_SERVICE = "out_of_service"
    TAKE_CARD = "take_card"
    TAKE_PAGES = "take_pages"
    TAKE_CHANGE = "take_change"


class AlarmPattern(StrEnum):
    LEFT_BEHIND = "left_behind"
    CALL_CLERK = "call_clerk"


class Guide(StrEnum):
    """Guide LEDs driven by the coprocessor."""

    CARD = "card"
    OUTPUT_TRAY = "output_tray"
    CHANGE_TRAY = "change_tray"


class Action:
    """Base of every action."""


@dataclass(frozen=True)
class Show(Action):
    screen: str
    data: Mapping[str, Any] = field(repr=False)


@dataclass(frozen=True)
class PlayVoice(Action):
    prompt: VoicePrompt
    lang: str = "ja"  # the citizen's language, set by the machine (players may fall back)


@dataclass(frozen=True)
class SoundAlarm(Action):
    pattern: AlarmPattern


@dataclass(frozen=True)
class StopAlarm(Action):
    pass


@dataclass(frozen=True)
class SetGuide(Action):
    guide: Guide
    on: bool


@dataclass(frozen=True)
class SetTimer(Action):
    seconds: float
    seq: int


@dataclass(frozen=True)
class CancelTimer(Action):
    pass


@dataclass(frozen=True)
class WaitForCard(Action):
    """Start watching the reader; answer CardInserted / CardRejected."""


@dataclass(frozen=True)
class VerifyPin(Action):
    """The runner hands the digits to the card and wipes ``pin`` right after."""

    pin: Pin


@dataclass(frozen=True)
class RequestChallenge(Action):
    pass


@dataclass(frozen=True)
class SignChallenge(Action):
    challenge: bytes = field(repr=False)


@dataclass(frozen=True)
class Authenticate(Action):
    certificate: bytes = field(repr=False)
    signature: bytes = field(repr=False)


@dataclass(frozen=True)
class Order:
    kind: CertificateType
    copies: int
    member_ids: tuple[str, ...] = ()
    options: frozenset[JuminhyoOption] = frozenset()
    fiscal_year: int | None = None


@dataclass(frozen=True)
class RequestQuote(Action):
    order: Order


@dataclass(frozen=True)
class StartPayment(Action):
    fee_yen: int


@dataclass(frozen=True)
class StopPayment(Action):
    """Stop accepting money (inhibit coins and bills)."""


@dataclass(frozen=True)
class Refund(Action):
    amount_yen: int


@dataclass(frozen=True)
class IssueVoucher(Action):
    """Print a voucher for money the hoppers could not return."""

    amount_yen: int


@dataclass(frozen=True)
class Issue(Action):
    quote_id: str
    paid_yen: int
    idempotency_key: str


@dataclass(frozen=True)
class PrintDocuments(Action):
    documents: tuple[IssuedDocument, ...]


@dataclass(frozen=True)
class Receipt:
    kind: CertificateType
    copies: int
    fee_yen: int
    paid_yen: int
    change_yen: int
    certificate_numbers: tuple[str, ...]


@dataclass(frozen=True)
class PrintReceipt(Action):
    receipt: Receipt


@dataclass(frozen=True)
class ReportPrintResult(Action):
    certificate_numbers: tuple[str, ...]
    ok: bool
    reason: str = ""


@dataclass(frozen=True)
class Reprint(Action):
    """Clerk reprint: the center re-sends the same certificate numbers, no fee."""

    certificate_numbers: tuple[str, ...]


@dataclass(frozen=True)
class CheckClerkPin(Action):
    """Answer ClerkPinChecked: which clerk's PIN it is (or none; or locked out)."""

    pin: ClerkPin


@dataclass(frozen=True)
class ReadClerkStatus(Action):
    """Answer ClerkStatusRead: device health, hopper inventory, cash box and stacker."""


@dataclass(frozen=True)
class RefillHopper(Action):
    """Journal ``coins`` loaded into ``hopper``; answer ClerkDone("refill")."""

    hopper: str
    coins: int
    clerk: str = ""  # the signed-in clerk's id, journaled with the refill


@dataclass(frozen=True)
class CollectCash(Action):
    """Journal the collection of everything up to ``through_seq``; answer ClerkDone("collect").
    Confirming the same collection twice is refused, never counted twice."""

    through_seq: int
    clerk: str = ""  # the signed-in clerk's id, journaled with the collection


@dataclass(frozen=True)
class BuildReport(Action):
    """The daily report for ``day`` (ISO date; empty = today, Asia/Tokyo); ClerkDone("report")."""

    day: str = ""


@dataclass(frozen=True)
class PrintReport(Action):
    """The daily report on the receipt printer; answer ClerkDone("print_report")."""

    day: str = ""


@dataclass(frozen=True)
class Wipe(Action):
    """Erase the session's data: memory (done by the machine) and the spool dir (runner)."""


@dataclass(frozen=True)
class Log(Action):
    """A log line. Only codes, counts and amounts: never names, addresses, numbers or PINs."""

    event: str
    fields: Mapping[str, str | int] = field(default_factory=dict)


@dataclass(frozen=True)
class Record(Log):
    """A log line the daily report counts too (journaled by the clerk port): session starts
    and ends, certificates issued, print failures, reprints, device faults. ``documents``
    only lets the port read which municipality issued (never their content)."""

    documents: tuple[IssuedDocument, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class ClerkAudit(Action):
    """A clerk's doing for the audit trail, journaled by the clerk port (kind ``clerk``) with
    the signed-in clerk's id: an operation's outcome (refill, collect, report, print_report,
    reprint) or the sign-out. Codes, counts and amounts only: never a PIN."""

    event: str
    clerk: str
    fields: Mapping[str, str | int] = field(default_factory=dict)
