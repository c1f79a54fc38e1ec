"""Everything that can happen to a session, as plain typed values.

Events come from the screen (the citizen's touches), the devices (card, cash, printer,
coprocessor sensors), the center client, health monitors and timers. The runner turns each
port's result into one of these; the machine never sees a device or a socket.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar

from documents.model import CertificateType, JuminhyoOption

from .pin import ClerkPin, Pin


class Device(StrEnum):
    """What can make the kiosk unusable (SPEC §5 out-of-service detection)."""

    PRINTER = "printer"
    PAPER = "paper"
    RECEIPT_PRINTER = "receipt_printer"
    CHANGE = "change"  # hoppers cannot make change
    COIN_ACCEPTOR = "coin_acceptor"
    BILL_VALIDATOR = "bill_validator"
    CARD_READER = "card_reader"
    COPROCESSOR = "coprocessor"  # framed link lost
    CENTER = "center"


class RefusalReason(StrEnum):
    """Why the center will not serve this resident at the kiosk (SPEC §3, jpki-card.md)."""

    UNDER_15 = "under_15"
    NOT_REGISTERED = "not_registered"
    MOVED_OUT = "moved_out"
    MOVE_OUT_FILED = "move_out_filed"
    SUPPORT_MEASURES = "support_measures"
    DECEASED = "deceased"
    CHARACTER_LIMIT = "character_limit"
    MOVED_IN_TODAY = "moved_in_today"
    GAIJI_PENDING = "gaiji_pending"
    CARD_NOT_YET_USABLE = "card_not_yet_usable"  # from the day after issue/move-in/PIN change
    CERTIFICATE_EXPIRED = "certificate_expired"
    CERTIFICATE_REVOKED = "certificate_revoked"
    CERTIFICATE_UNTRUSTED = "certificate_untrusted"
    MAINTENANCE = "maintenance"
    OUT_OF_HOURS = "out_of_hours"  # outside the municipality's service hours: come back later
    OTHER = "other"  # any reason this kiosk does not know yet: "apply at the counter"

    @classmethod
    def parse(cls, text: str) -> RefusalReason:
        try:
            return cls(text)
        except ValueError:
            return cls.OTHER


class CardRejection(StrEnum):
    """Why the card on the reader cannot be used (SPEC §2 step 2)."""

    NOT_MY_NUMBER_CARD = "not_my_number_card"  # 通知カード, 住基カード, anything else
    NO_USER_CERTIFICATE = "no_user_certificate"  # certificate declined or never issued
    UNREADABLE = "unreadable"


class Event:
    """Base of every event. ``activity`` marks the citizen's own doing: it re-arms the timer."""

    activity: ClassVar[bool] = False


class ScreenEvent(Event):
    activity: ClassVar[bool] = True


# --- screen ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StartPressed(ScreenEvent):
    pass


@dataclass(frozen=True)
class LanguageChosen(ScreenEvent):
    lang: str


@dataclass(frozen=True)
class PinEntered(ScreenEvent):
    pin: Pin


@dataclass(frozen=True)
class CertificateChosen(ScreenEvent):
    kind: CertificateType


@dataclass(frozen=True)
class SubjectsChosen(ScreenEvent):
    member_ids: tuple[str, ...]


@dataclass(frozen=True)
class OptionsChosen(ScreenEvent):
    options: frozenset[JuminhyoOption]


@dataclass(frozen=True)
class WarningAcknowledged(ScreenEvent):
    pass


@dataclass(frozen=True)
class FiscalYearChosen(ScreenEvent):
    year: int


@dataclass(frozen=True)
class CopiesChosen(ScreenEvent):
    copies: int


@dataclass(frozen=True)
class FeeConfirmed(ScreenEvent):
    pass


@dataclass(frozen=True)
class Back(ScreenEvent):
    pass


@dataclass(frozen=True)
class Cancel(ScreenEvent):
    pass


@dataclass(frozen=True)
class NoticeAcknowledged(ScreenEvent):
    pass


@dataclass(frozen=True)
class ClerkRequested(ScreenEvent):
    """The hidden clerk key or the door switch."""


@dataclass(frozen=True)
class ClerkPinEntered(ScreenEvent):
    pin: ClerkPin


@dataclass(frozen=True)
class ClerkReprint(ScreenEvent):
    pass


@dataclass(frozen=True)
class ClerkExit(ScreenEvent):
    pass


@dataclass(frozen=True)
class ClerkMenu(ScreenEvent):
    """A clerk menu entry: ``status`` (the menu itself), ``refill``, ``collect``, ``report``."""

    item: str


@dataclass(frozen=True)
class ClerkRefresh(ScreenEvent):
    """The clerk screen asks for fresh device status; not the clerk's doing, so it does not
    keep clerk mode open past its timeout."""

    activity: ClassVar[bool] = False


@dataclass(frozen=True)
class ClerkRefill(ScreenEvent):
    hopper: str
    coins: int


@dataclass(frozen=True)
class ClerkCollect(ScreenEvent):
    """Confirm the collection the screen showed: everything journaled up to ``through_seq``."""

    through_seq: int


@dataclass(frozen=True)
class ClerkReportDay(ScreenEvent):
    day: str  # ISO date, Asia/Tokyo business day


@dataclass(frozen=True)
class ClerkPrintReport(ScreenEvent):
    pass


# --- card --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CardInserted(Event):
    tries_left: int


@dataclass(frozen=True)
class CardRejected(Event):
    reason: CardRejection


@dataclass(frozen=True)
class CardRemoved(Event):
    pass


@dataclass(frozen=True)
class PinAccepted(Event):
    pass


@dataclass(frozen=True)
class PinWrong(Event):
    tries_left: int


@dataclass(frozen=True)
class CardBlocked(Event):
    pass


@dataclass(frozen=True)
class ChallengeSigned(Event):
    certificate: bytes = field(repr=False)
    signature: bytes = field(repr=False)


@dataclass(frozen=True)
class CardError(Event):
    """The card stopped answering mid-way (moved, removed, I/O error)."""


# --- center ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    """One person whose 住民票 this resident may get. ``name`` is personal data."""

    member_id: str
    name: str = field(repr=False)
    is_self: bool
    options: frozenset[JuminhyoOption]  # groups this person's nationality allows
    data_as_of: date | None = None  # the register's state the certificate will show


@dataclass(frozen=True)
class Offer:
    kind: CertificateType
    fee_per_copy_yen: int
    members: tuple[Member, ...] = ()  # 住民票 only
    fiscal_years: tuple[int, ...] = ()  # 所得 / 所得課税 only
    max_copies: int | None = None  # the center's limit for this type (its offering)


@dataclass(frozen=True)
class Menu:
    offers: tuple[Offer, ...]
    data_as_of: date | None = None  # the applicant's records (印鑑, 所得 certificates)
    municipality: str = ""  # the issuing municipality's name, shown before payment

    def offer(self, kind: CertificateType) -> Offer | None:
        return next((o for o in self.offers if o.kind is kind), None)


@dataclass(frozen=True)
class Quote:
    quote_id: str
    fee_yen: int


@dataclass(frozen=True)
class IssuedDocument:
    """One issued certificate as the center sent it; ``payload`` is the signed content.
    ``quote_id`` binds it to the order this session paid for: the kiosk prints nothing else."""

    certificate_number: str
    pages: int
    quote_id: str
    payload: bytes = field(repr=False)


@dataclass(frozen=True)
class ChallengeIssued(Event):
    challenge: bytes = field(repr=False)


@dataclass(frozen=True)
class Authenticated(Event):
    menu: Menu


@dataclass(frozen=True)
class Refused(Event):
    reason: RefusalReason


@dataclass(frozen=True)
class CenterUnavailable(Event):
    pass


@dataclass(frozen=True)
class QuoteReady(Event):
    quote: Quote


@dataclass(frozen=True)
class Issued(Event):
    documents: tuple[IssuedDocument, ...]


# --- cash --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MoneyInserted(Event):
    """Running total accepted in this payment."""

    activity: ClassVar[bool] = True
    total_yen: int


@dataclass(frozen=True)
class PaymentComplete(Event):
    paid_yen: int
    change_yen: int


@dataclass(frozen=True)
class RefundDone(Event):
    refunded_yen: int
    short_yen: int = 0  # what the hoppers could not pay out: vouchered


# --- printer and trays -------------------------------------------------------------------


@dataclass(frozen=True)
class PrintProgress(Event):
    page: int
    pages: int


@dataclass(frozen=True)
class Printed(Event):
    pass


@dataclass(frozen=True)
class PrintFailed(Event):
    """``printed``: certificate numbers of the copies that came out whole before the
    failure (the printer port knows per copy: one job each); every other copy did not."""

    reason: str  # printer-state-reasons keyword, e.g. media-empty, media-jam
    printed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Recovered(Event):
    """At start-up, the host finished sessions it had died in the middle of
    (`host/kiosk/recovery.py`): what it put out for the citizen who may still be there."""

    certificates: int = 0  # copies printed now (same numbers, no fee)
    given_back_yen: int = 0  # coins paid out and vouchers printed
    reprint: tuple[str, ...] = ()  # copies it could not print: the clerk's reprint list
    lang: str = "ja"  # the interrupted session's language


@dataclass(frozen=True)
class OutputTray(Event):
    occupied: bool


@dataclass(frozen=True)
class ChangeTray(Event):
    occupied: bool


# --- health, clerk, time -----------------------------------------------------------------


@dataclass(frozen=True)
class DeviceHealth(Event):
    device: Device
    ok: bool


@dataclass(frozen=True)
class ClerkPinChecked(Event):
    """The clerk port's answer: ``ok`` with the clerk's id from kiosk.toml (who is signed in,
    for the audit), or refused; ``locked`` when sign-in is locked after repeated wrong PINs
    (a PIN entered while locked is refused unchecked)."""

    ok: bool
    clerk: str = ""
    locked: bool = False


@dataclass(frozen=True)
class ClerkStatusRead(Event):
    """Device health, hopper inventory and cash box contents, from the clerk port. Codes and
    amounts only (JSON-able)."""

    status: Mapping[str, object] = field(repr=False)


@dataclass(frozen=True)
class ClerkDone(Event):
    """A clerk operation finished: ``op`` is refill, collect, report, print_report (or status
    when a status read failed);
    ``error`` a message key when it did not happen; ``data`` its result (e.g. the report)."""

    op: str
    ok: bool
    error: str = ""
    data: Mapping[str, object] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Timeout(Event):
    """A timer armed by SetTimer fired; ``seq`` tells stale timers from the current one."""

    seq: int


@dataclass(frozen=True)
class Tick(Event):
    """Wall-clock time, timezone-aware; decides the closed screen."""

    now: datetime


ALL_EVENT_TYPES: tuple[type[Event], ...] = (
    StartPressed,
    LanguageChosen,
    PinEntered,
    CertificateChosen,
    SubjectsChosen,
    OptionsChosen,
    WarningAcknowledged,
    FiscalYearChosen,
    CopiesChosen,
    FeeConfirmed,
    Back,
    Cancel,
    NoticeAcknowledged,
    ClerkRequested,
    ClerkPinEntered,
    ClerkReprint,
    ClerkExit,
    ClerkMenu,
    ClerkRefresh,
    ClerkRefill,
    ClerkCollect,
    ClerkReportDay,
    ClerkPrintReport,
    CardInserted,
    CardRejected,
    CardRemoved,
    PinAccepted,
    PinWrong,
    CardBlocked,
    ChallengeSigned,
    CardError,
    ChallengeIssued,
    Authenticated,
    Refused,
    CenterUnavailable,
    QuoteReady,
    Issued,
    MoneyInserted,
    PaymentComplete,
    RefundDone,
    PrintProgress,
    Printed,
    PrintFailed,
    Recovered,
    OutputTray,
    ChangeTray,
    DeviceHealth,
    ClerkPinChecked,
    ClerkStatusRead,
    ClerkDone,
    Timeout,
    Tick,
)
