"""The user-authentication PIN: exactly four ASCII digits, never shown, wiped after use.

The digits live in one bytearray so they can be overwritten; `repr`, `str`, formatting,
pickling and copying never reveal them, and equality is not offered (comparing PINs is the
card's job, not ours).
"""

from __future__ import annotations

from typing import NoReturn

from drivers.nfc.errors import InvalidPin

PIN_LENGTH = 4


class Pin:
    __slots__ = ("_digits", "_wiped")

    def __init__(self, digits: str | bytes | bytearray | memoryview) -> None:
        # Built code point by code point: no intermediate immutable bytes copy of the digits.
        if isinstance(digits, str):
            raw = bytearray(ord(c) if ord(c) < 0x80 else 0x3F for c in digits)
        else:
            raw = bytearray(digits)
        if len(raw) != PIN_LENGTH or not all(0x30 <= b <= 0x39 for b in raw):
            _wipe(raw)
            raise InvalidPin() from None
        self._digits = raw
        self._wiped = False

    def __repr__(self) -> str:
        return "Pin(****)" if not self._wiped else "Pin(wiped)"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Pin cannot be pickled")

    def __copy__(self) -> NoReturn:
        raise TypeError("a Pin cannot be copied")

    def __deepcopy__(self, memo: object) -> NoReturn:
        raise TypeError("a Pin cannot be copied")

    __hash__ = None  # type: ignore[assignment]

    def __eq__(self, other: object) -> bool:
        return self is other

    @property
    def wiped(self) -> bool:
        return self._wiped

    def buffer(self) -> bytearray:
        """The live digit buffer (not a copy): only the APDU builder reads it."""
        if self._wiped:
            raise InvalidPin()
        return self._digits

    def wipe(self) -> None:
        _wipe(self._digits)
        self._wiped = True

    def __enter__(self) -> Pin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.wipe()

    def __del__(self) -> None:
        digits = getattr(self, "_digits", None)
        if digits is not None:
            _wipe(digits)


def _wipe(buf: bytearray) -> None:
    for i in range(len(buf)):
        buf[i] = 0
