"""What the session runner needs from each device kind and from the center client.

The drivers (card, cash, printers, coprocessor) and the center client are built elsewhere;
each gets a thin adapter to one of these Protocols. Results come back as the session's own
event values, failures as the exceptions below, and unsolicited happenings (a card lifted,
money inserted, a tray emptied, a device going unhealthy) through ``events()``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Protocol

from . import events as E
from .actions import AlarmPattern, Guide, Order, Receipt, Record, VoicePrompt
from .pin import ClerkPin, Pin


class PortError(Exception):
    """Base of every failure a port reports to the runner."""


class CardFailure(PortError):
    """The card stopped answering (moved away, I/O error). Never carries PIN digits."""


class CenterDown(PortError):
    """The center cannot be reached or answered with a server error after retries."""


class CenterRefusal(PortError):
    def __init__(self, reason: E.RefusalReason) -> None:
        super().__init__(reason.value)
        self.reason = reason


class PrintError(PortError):
    """``printed``: the certificate numbers that came out whole before the failure (each
    copy is its own printer job); the rest of the run did not."""

    def __init__(self, reason: str, printed: tuple[str, ...] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.printed = printed


class EventSource(Protocol):
    def events(self) -> AsyncIterator[E.Event]:
        """Unsolicited events, for as long as the device runs."""
        ...


class CardPort(EventSource, Protocol):
    """JPKI user authentication. ``events()``: CardRemoved, DeviceHealth(CARD_READER)."""

    async def wait_for_card(self) -> E.CardInserted | E.CardRejected: ...

    async def verify_pin(self, pin: Pin) -> E.PinAccepted | E.PinWrong | E.CardBlocked:
        """Send the PIN (``pin.use``) to the card; the runner wipes ``pin`` afterwards."""
        ...

    async def sign(self, challenge: bytes) -> E.ChallengeSigned: ...


class CenterPort(Protocol):
    """The issuance center over mutual TLS (retries and idempotency are the client's job)."""

    async def challenge(self) -> bytes: ...

    async def authenticate(self, certificate: bytes, signature: bytes) -> E.Menu: ...

    async def quote(self, order: Order) -> E.Quote: ...

    async def issue(
        self, quote_id: str, paid_yen: int, idempotency_key: str
    ) -> tuple[E.IssuedDocument, ...]: ...

    async def report_print(
        self, certificate_numbers: tuple[str, ...], ok: bool, reason: str
    ) -> None: ...

    async def reprint(
        self, certificate_numbers: tuple[str, ...]
    ) -> tuple[E.IssuedDocument, ...]:
        """Needs a clerk the center signed in (``clerk_signin``); else a CenterRefusal."""
        ...

    async def clerk_signin(self, clerk_id: str, pin: ClerkPin) -> None:
        """The center's own check of a clerk the kiosk signed in (CenterRefusal if it
        refuses); the caller wipes the PIN."""
        ...

    async def clerk_signout(self) -> None: ...


class PaymentPort(EventSource, Protocol):
    """Cash. ``events()``: MoneyInserted, PaymentComplete, DeviceHealth of the cash devices."""

    async def start(self, fee_yen: int) -> None: ...

    async def stop(self) -> None: ...

    async def refund(self, amount_yen: int) -> E.RefundDone:
        """Return ``amount_yen`` (the session's count of what it holds). Report what actually
        went back and what could not (``short_yen``, to be vouchered); money still arriving
        after ``stop()`` is reported as MoneyInserted and refunded in another round."""
        ...


class PrinterPort(EventSource, Protocol):
    """A4 (IPP) and receipt/voucher (ESC/POS). ``events()``: PrintProgress, DeviceHealth."""

    async def print_documents(self, documents: tuple[E.IssuedDocument, ...]) -> None:
        """Returns when every page is out; raises PrintError with the printer's reason and
        the copies that did come out (``PrintError.printed``)."""
        ...

    async def not_ready(self) -> str:
        """Why the A4 printer cannot take a job now (its reason keyword), or "" when it can."""
        ...

    async def print_receipt(self, receipt: Receipt) -> None: ...

    async def print_voucher(self, amount_yen: int) -> None: ...


class CoprocessorPort(EventSource, Protocol):
    """Sensors, guide LEDs and buzzer. ``events()``: OutputTray, ChangeTray, DeviceHealth."""

    async def sound_alarm(self, pattern: AlarmPattern) -> None: ...

    async def stop_alarm(self) -> None: ...

    async def set_guide(self, guide: Guide, on: bool) -> None: ...


class VoicePort(Protocol):
    async def play(self, prompt: VoicePrompt) -> None: ...


class ScreenPort(Protocol):
    async def show(self, screen: str, data: dict[str, object]) -> None: ...


class ClerkLocked(PortError):
    """Clerk sign-in is locked after repeated wrong PINs: the PIN was not even checked."""


class ClerkAuthPort(Protocol):
    async def check(self, pin: ClerkPin) -> str | None:
        """The id of the clerk whose PIN this is, or None (a wrong PIN). Raises ClerkLocked
        while sign-in is locked. Never keeps the digits."""
        ...


class ClerkError(PortError):
    """A clerk operation refused or failed; ``key`` is the screen's message key
    (``error.<key>`` in the catalogs)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class ClerkDeskPort(Protocol):
    """Clerk mode: device status, hopper refills and cash collections (journaled before they
    return), the daily report on screen and on the receipt printer, and the session facts
    the report counts. Codes, counts and amounts only: never personal data."""

    async def status(self) -> Mapping[str, object]: ...

    async def refill(self, hopper: str, coins: int, clerk: str = "") -> Mapping[str, object]: ...

    async def collect(self, through_seq: int, clerk: str = "") -> Mapping[str, object]: ...

    async def report(self, day: str) -> Mapping[str, object]: ...

    async def print_report(self, day: str) -> None: ...

    async def record(self, record: Record) -> None: ...

    async def audit(self, event: str, clerk: str, fields: Mapping[str, str | int]) -> None:
        """A clerk's doing, journaled with the clerk's id (kind ``clerk``)."""
        ...
