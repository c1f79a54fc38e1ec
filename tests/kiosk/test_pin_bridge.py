"""The card adapter moves PIN digits from the session's Pin into the driver's and wipes both."""

from __future__ import annotations

import pytest

from drivers.nfc.errors import InvalidPin
from host.kiosk.card_port import driver_pin
from host.session.pin import Pin as SessionPin


def test_digits_move_and_the_session_pin_is_wiped() -> None:
    spin = SessionPin(b"4729")
    dpin = driver_pin(spin)
    assert spin.wiped
    assert bytes(dpin.buffer()) == b"4729"
    dpin.wipe()
    assert dpin.wiped
    assert "4729" not in repr(dpin) + repr(spin)


def test_a_wiped_session_pin_cannot_be_moved_twice() -> None:
    spin = SessionPin(b"1234")
    driver_pin(spin).wipe()
    with pytest.raises(ValueError):
        driver_pin(spin)


def test_invalid_pin_error_does_not_repeat_digits() -> None:
    with pytest.raises(InvalidPin) as info:
        from drivers.nfc.pin import Pin

        Pin("12a4")
    assert "12a4" not in str(info.value)


def test_the_digits_never_leave_a_wipeable_buffer() -> None:
    """The session's Pin lends its own buffer (read-only, released after the call); it has no
    call that returns the digits as an immutable ``bytes``, which no one could wipe."""
    assert not hasattr(SessionPin, "reveal")
    spin = SessionPin(b"5096")
    buffer = spin._buf
    seen: list[object] = []

    def look(view: memoryview) -> None:
        assert view.readonly and view.obj is buffer  # the buffer itself, not a copy
        seen.append(view)

    spin.use(look)
    with pytest.raises(ValueError):  # released when the call returned
        bytes(seen[0])  # type: ignore[call-overload]
    dpin = driver_pin(spin)
    assert spin.wiped and bytes(buffer) == b""
    assert dpin.buffer() is not buffer  # the driver holds its own wipeable copy
    dpin.wipe()
    assert bytes(dpin._digits) == b"\0\0\0\0"
