from __future__ import annotations

import copy
import pickle

import pytest

from drivers.nfc import InvalidPin, Pin


@pytest.mark.parametrize("bad", ["123", "12345", "12a4", "", "１２３４", " 123", b"12\x004"])
def test_only_four_ascii_digits(bad: str | bytes) -> None:
    with pytest.raises(InvalidPin) as info:
        Pin(bad)
    assert str(bad) not in str(info.value) or bad == ""
    assert info.value.__cause__ is None and info.value.__context__ is None


def test_digits_never_shown() -> None:
    pin = Pin("8256")
    for text in (repr(pin), str(pin), f"{pin}", f"{pin!r}", format(pin)):
        assert "8256" not in text
    with pytest.raises(TypeError):
        pickle.dumps(pin)
    with pytest.raises(TypeError):
        copy.copy(pin)
    with pytest.raises(TypeError):
        copy.deepcopy(pin)


def test_wipe_clears_the_buffer_in_place() -> None:
    pin = Pin(bytearray(b"8256"))
    buf = pin.buffer()
    assert bytes(buf) == b"8256"
    with pin:
        pass
    assert bytes(buf) == b"\x00\x00\x00\x00" and pin.wiped
    with pytest.raises(InvalidPin):
        pin.buffer()
