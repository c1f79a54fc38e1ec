"""Typed errors of the card driver: each one maps to one plain message on the kiosk screen,
keyed by its stable `code` (the UI translates codes, never exception text).

No message ever carries PIN digits, certificate contents or personal data: only status words,
tries left and reader names.
"""

from __future__ import annotations

from typing import ClassVar


class CardError(Exception):
    """Base of every error the card driver raises."""

    code: ClassVar[str] = "card_error"


class NotMyNumberCard(CardError):
    """The card does not answer the JPKI application SELECT (a notification card, another card)."""

    code: ClassVar[str] = "not_my_number_card"

    def __init__(self, sw: int | None = None) -> None:
        detail = f" (SELECT answered {sw:04X})" if sw is not None else ""
        super().__init__(f"not a My Number card{detail}")
        self.sw = sw


class NoAuthCertificate(CardError):
    """The JPKI application has no user-authentication certificate (declined or not issued)."""

    code: ClassVar[str] = "no_auth_certificate"

    def __init__(self) -> None:
        super().__init__("the card holds no user-authentication certificate")


class WrongPin(CardError):
    """VERIFY refused the PIN; `tries_left` more attempts remain before the card locks."""

    code: ClassVar[str] = "wrong_pin"

    def __init__(self, tries_left: int) -> None:
        super().__init__(f"wrong PIN, {tries_left} tries left")
        self.tries_left = tries_left


class PinBlocked(CardError):
    """No PIN tries left: only the city office can reset it (bring the card and ID)."""

    code: ClassVar[str] = "pin_blocked"

    tries_left = 0

    def __init__(self) -> None:
        super().__init__("the user-authentication PIN is blocked")


class InvalidPin(CardError, ValueError):
    """What was typed is not exactly four digits (the message never repeats it)."""

    code: ClassVar[str] = "invalid_pin"

    def __init__(self) -> None:
        super().__init__("a PIN is exactly 4 digits")


class PinNotVerified(CardError):
    """The card refused to sign because the PIN was not verified in this session (69 82)."""

    code: ClassVar[str] = "pin_not_verified"

    def __init__(self) -> None:
        super().__init__("the card requires a verified PIN for this command")


class CardRemoved(CardError):
    """The card left the reader (or was reset) in the middle of an operation."""

    code: ClassVar[str] = "card_removed"

    def __init__(self, detail: str = "") -> None:
        super().__init__("the card was removed" + (f": {detail}" if detail else ""))


class NoCard(CardError):
    """No card is on the reader."""

    code: ClassVar[str] = "no_card"

    def __init__(self) -> None:
        super().__init__("no card on the reader")


class ReaderGone(CardError):
    """The reader is absent (unplugged, or pcscd is not running)."""

    code: ClassVar[str] = "reader_gone"

    def __init__(self, detail: str = "") -> None:
        super().__init__("the card reader is not available" + (f": {detail}" if detail else ""))


class CardMute(CardError):
    """The card is on the reader but does not answer (or answers garbage)."""

    code: ClassVar[str] = "card_mute"

    def __init__(self, detail: str = "") -> None:
        super().__init__("the card does not answer" + (f": {detail}" if detail else ""))


class CardBusy(CardError):
    """Another process holds the card exclusively."""

    code: ClassVar[str] = "card_busy"

    def __init__(self) -> None:
        super().__init__("the card is in use by another program")


class UnexpectedStatus(CardError):
    """The card answered a status word this driver does not expect at that step."""

    code: ClassVar[str] = "unexpected_status"

    def __init__(self, step: str, sw: int) -> None:
        super().__init__(f"{step}: unexpected status word {sw:04X}")
        self.step = step
        self.sw = sw


class BadCardData(CardError):
    """A file's content is not what the JPKI application stores there (e.g. broken DER)."""

    code: ClassVar[str] = "bad_card_data"
