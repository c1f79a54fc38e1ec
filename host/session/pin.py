"""A PIN held only as long as needed: digits in a bytearray that is zeroed after use.

The card engineer owns the card-side PIN type; this one exists so that the session can carry
the digits from the screen to the card port without a ``str`` copy that cannot be wiped, and
so that no repr, log line, state dump or exception ever shows them.
"""

from __future__ import annotations


class PinFormatError(ValueError):
    """The entered PIN is not 4 ASCII digits. The message never contains the digits."""


class Pin:
    __slots__ = ("_buf",)

    LENGTH = 4

    def __init__(self, digits: bytes | bytearray) -> None:
        buf = bytearray(digits)
        if len(buf) != self.LENGTH or not all(0x30 <= b <= 0x39 for b in buf):
            length = len(buf)
            for i in range(length):
                buf[i] = 0
            raise PinFormatError(f"PIN must be {self.LENGTH} digits (got {length} characters)")
        self._buf = buf

    @classmethod
    def from_text(cls, text: str) -> Pin:
        return cls(text.encode("ascii", errors="replace"))

    def reveal(self) -> bytes:
        """The digits, for the one call that sends them to the card. Raises once wiped."""
        if not self._buf:
            raise ValueError("PIN already wiped")
        return bytes(self._buf)

    @property
    def wiped(self) -> bool:
        return not self._buf

    def wipe(self) -> None:
        for i in range(len(self._buf)):
            self._buf[i] = 0
        self._buf.clear()

    def __repr__(self) -> str:
        return "Pin(****)" if self._buf else "Pin(wiped)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        # Identity only: comparing PINs by value would be a timing side channel for no gain.
        return self is other

    def __hash__(self) -> int:
        return id(self)

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a PIN cannot be pickled")
