"""The screen's messages (the citizen's touches) turned into session events.

The PIN never crosses the WebSocket as a whole: the pad sends one digit per message and the
server keeps them in :class:`PinPad`, a bytearray zeroed as soon as the PIN is handed on.
"""

from __future__ import annotations

from typing import Any, TypeVar

from documents.model import CertificateType, JuminhyoOption
from host.session import events as E
from host.session.pin import ClerkPin, Pin, PinFormatError

P = TypeVar("P", bound=Pin)


class UiInputError(ValueError):
    """A screen message that is malformed or unknown. ``key`` is a catalog key for the screen;
    the message never echoes what was sent (it may hold PIN digits)."""

    def __init__(self, key: str = "error.bad_message") -> None:
        super().__init__(key)
        self.key = key


class PinPad:
    """Digits typed so far: up to 4 for the card's PIN, up to 12 for a clerk's (6 to 12)."""

    LENGTH = Pin.LENGTH
    CLERK_MAX = ClerkPin.MAX_LENGTH

    def __init__(self) -> None:
        # Room for the longest PIN up front: appending never reallocates, so no stray copy
        # of the digits is left behind in freed memory.
        self._buf = bytearray(self.CLERK_MAX)
        self._n = 0

    @property
    def count(self) -> int:
        return self._n

    def press(self, digit: object, clerk: bool = False) -> None:
        if not (isinstance(digit, str) and len(digit) == 1 and "0" <= digit <= "9"):
            raise UiInputError()
        if self._n < (self.CLERK_MAX if clerk else self.LENGTH):
            self._buf[self._n] = ord(digit)
            self._n += 1

    def clear(self) -> None:
        for i in range(len(self._buf)):
            self._buf[i] = 0
        self._n = 0

    def take(self) -> Pin:
        """The entered card PIN (copied into its own wipeable buffer); the pad is cleared."""
        if self._n != self.LENGTH:
            self.clear()
            raise UiInputError("error.pin_incomplete")
        return self._take(Pin)

    def take_clerk(self) -> ClerkPin:
        """The entered clerk PIN, 6 to 12 digits (its own wipeable buffer); the pad is cleared."""
        try:
            return self._take(ClerkPin)
        except PinFormatError:
            raise UiInputError("error.clerk_pin_incomplete") from None

    def _take(self, kind: type[P]) -> P:
        digits = self._buf[: self._n]
        try:
            return kind(digits)
        finally:
            for i in range(len(digits)):
                digits[i] = 0
            self.clear()

    def __repr__(self) -> str:
        return f"PinPad({self.count} digits)"


def _int(msg: dict[str, Any], name: str) -> int:
    value = msg.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise UiInputError()
    return value


def _str(msg: dict[str, Any], name: str) -> str:
    value = msg.get(name)
    if not isinstance(value, str) or len(value) > 64:
        raise UiInputError()
    return value


def _strs(msg: dict[str, Any], name: str) -> list[str]:
    value = msg.get(name)
    if (
        not isinstance(value, list)
        or len(value) > 16
        or not all(isinstance(v, str) and len(v) <= 64 for v in value)
    ):
        raise UiInputError()
    return value


SIMPLE: dict[str, E.Event] = {
    "start": E.StartPressed(),
    "warning_ok": E.WarningAcknowledged(),
    "fee_ok": E.FeeConfirmed(),
    "back": E.Back(),
    "cancel": E.Cancel(),
    "notice_ok": E.NoticeAcknowledged(),
    "clerk": E.ClerkRequested(),
    "clerk_reprint": E.ClerkReprint(),
    "clerk_exit": E.ClerkExit(),
    "clerk_refresh": E.ClerkRefresh(),
    "clerk_print_report": E.ClerkPrintReport(),
}


def parse(msg: object, pad: PinPad, clerk_pin: bool) -> E.Event | None:
    """One screen message -> an event, or None for pad presses that only change the pad."""
    if not isinstance(msg, dict):
        raise UiInputError()
    kind = msg.get("event")
    if not isinstance(kind, str):
        raise UiInputError()
    if kind in SIMPLE:
        return SIMPLE[kind]
    try:
        match kind:
            case "language":
                return E.LanguageChosen(_str(msg, "lang"))
            case "certificate":
                return E.CertificateChosen(CertificateType(_str(msg, "kind")))
            case "subjects":
                return E.SubjectsChosen(tuple(_strs(msg, "ids")))
            case "options":
                return E.OptionsChosen(frozenset(JuminhyoOption(v) for v in _strs(msg, "options")))
            case "year":
                return E.FiscalYearChosen(_int(msg, "year"))
            case "copies":
                return E.CopiesChosen(_int(msg, "copies"))
            case "clerk_menu":
                return E.ClerkMenu(_str(msg, "item"))
            case "clerk_refill":
                return E.ClerkRefill(_str(msg, "hopper"), _int(msg, "coins"))
            case "clerk_collect":
                return E.ClerkCollect(_int(msg, "through"))
            case "clerk_report_day":
                return E.ClerkReportDay(_str(msg, "day"))
            case "pin_digit":
                pad.press(msg.get("digit"), clerk=clerk_pin)
                return None
            case "pin_clear":
                pad.clear()
                return None
            case "pin_submit":
                if clerk_pin:
                    return E.ClerkPinEntered(pad.take_clerk())
                return E.PinEntered(pad.take())
    except ValueError as exc:
        if isinstance(exc, UiInputError):
            raise
        raise UiInputError() from None
    raise UiInputError()
