"""A PIN held only as long as needed: digits in a bytearray that is zeroed after use.

The card engineer owns the card-side PIN type; this one exists so that the session can carry
the digits from the screen to the card port without a ``str`` copy that cannot be wiped, and
so that no repr, log line, state dump or exception ever shows them.

:class:`Pin` is the card's PIN (exactly 4 digits); :class:`ClerkPin` a clerk's (6 to 12
digits), checked by the kiosk against the salted hashes of kiosk.toml.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
P = TypeVar("P", bound="Pin")


class PinFormatError(ValueError):
    """The entered PIN is not the right number of ASCII digits. The message never contains
    the digits."""


class Pin:
    __slots__ = ("_buf",)

    LENGTH = 4
    MIN_LENGTH = LENGTH
    MAX_LENGTH = LENGTH

    def __init__(self, digits: bytes | bytearray) -> None:
        buf = bytearray(digits)
        length = len(buf)
        if not (self.MIN_LENGTH <= length <= self.MAX_LENGTH) or not all(
            0x30 <= b <= 0x39 for b in buf
        ):
            for i in range(length):
                buf[i] = 0
            raise PinFormatError(f"{self.describe()} (got {length} characters)")
        self._buf = buf

    @classmethod
    def describe(cls) -> str:
        if cls.MIN_LENGTH == cls.MAX_LENGTH:
            return f"PIN must be {cls.MIN_LENGTH} digits"
        return f"PIN must be {cls.MIN_LENGTH} to {cls.MAX_LENGTH} digits"

    @classmethod
    def from_text(cls: type[P], text: str) -> P:
        return cls(text.encode("ascii", errors="replace"))

    def use(self, fn: Callable[[memoryview], T]) -> T:
        """``fn(digits)`` on a read-only view of the buffer itself (no copy is made), released
        when ``fn`` returns: for a hash function that takes any bytes-like object."""
        if not self._buf:
            raise ValueError("PIN already wiped")
        with memoryview(self._buf) as view:
            readonly = view.toreadonly()
            try:
                return fn(readonly)
            finally:
                readonly.release()

    def move(self: P) -> P:
        """A new holder of these digits (the same buffer, not a copy); this one is left wiped.
        For handing the PIN to a worker that wipes it when done, whatever the caller does."""
        if not self._buf:
            raise ValueError("PIN already wiped")
        moved = object.__new__(type(self))
        moved._buf, self._buf = self._buf, bytearray()
        return moved

    def copy(self: P) -> P:
        """A second holder with its own wipeable buffer (no immutable copy on the way): for
        a PIN two checks need, each wiping its own."""
        if not self._buf:
            raise ValueError("PIN already wiped")
        twin = object.__new__(type(self))
        twin._buf = bytearray(self._buf)
        return twin

    @property
    def wiped(self) -> bool:
        return not self._buf

    def wipe(self) -> None:
        for i in range(len(self._buf)):
            self._buf[i] = 0
        self._buf.clear()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({'****' if self._buf else 'wiped'})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        # Identity only: comparing PINs by value would be a timing side channel for no gain.
        return self is other

    def __hash__(self) -> int:
        return id(self)

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a PIN cannot be pickled")

    def __del__(self) -> None:
        buf = getattr(self, "_buf", None)
        if buf:
            for i in range(len(buf)):
                buf[i] = 0


class ClerkPin(Pin):
    """A clerk's PIN: 6 to 12 digits (a 4-digit one is reversed from its hash in
    milliseconds). Same guarantees as :class:`Pin`: a wipeable bytearray, never shown."""

    __slots__ = ()

    MIN_LENGTH = 6
    MAX_LENGTH = 12
