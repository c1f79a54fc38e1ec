"""The screen's messages (the citizen's touches) turned into session events.

The PIN never crosses the WebSocket as a whole: the pad sends one digit per message and the
server keeps them in :class:`PinPad`, a bytearray zeroed as soon as the PIN is handed on.
"""

from __future__ import annotations

from typing import Any

from documents.model import CertificateType, JuminhyoOption
from host.session import events as E
from host.session.pin import Pin


class UiInputError(ValueError):
    """A screen message that is malformed or unknown. ``key`` is a catalog key for the screen;
    the message never echoes what was sent (it may hold PIN digits)."""

    def __init__(self, key: str = "error.bad_message") -> None:
        super().__init__(key)
        self.key = key


class PinPad:
    LENGTH = Pin.LENGTH

    def __init__(self) -> None:
        self._buf = bytearray()

    @property
    def count(self) -> int:
        return len(self._buf)

    def press(self, digit: object) -> None:
        if not (isinstance(digit, str) and len(digit) == 1 and "0" <= digit <= "9"):
            raise UiInputError()
        if len(self._buf) < self.LENGTH:
            self._buf.append(ord(digit))

    def clear(self) -> None:
        for i in range(len(self._buf)):
            self._buf[i] = 0
        self._buf.clear()

    def take(self) -> Pin:
        """The entered PIN (copied into its own wipeable buffer); the pad is cleared."""
        try:
            if len(self._buf) != self.LENGTH:
                raise UiInputError("error.pin_incomplete")
            return Pin(self._buf)
        finally:
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
                pad.press(msg.get("digit"))
                return None
            case "pin_clear":
                pad.clear()
                return None
            case "pin_submit":
                pin = pad.take()
                return E.ClerkPinEntered(pin) if clerk_pin else E.PinEntered(pin)
    except ValueError as exc:
        if isinstance(exc, UiInputError):
            raise
        raise UiInputError() from None
    raise UiInputError()
