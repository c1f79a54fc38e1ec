from __future__ import annotations

import drivers.nfc.errors as errors


def test_every_error_has_its_own_code() -> None:
    classes = [
        c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.CardError)
    ]
    codes = [c.code for c in classes]
    assert len(classes) >= 13 and len(set(codes)) == len(codes)


def test_messages_name_tries_and_status_words_only() -> None:
    assert str(errors.WrongPin(2)) == "wrong PIN, 2 tries left"
    assert errors.NotMyNumberCard(0x6A82).sw == 0x6A82
    assert "6A82" in str(errors.NotMyNumberCard(0x6A82))
    assert errors.PinBlocked().tries_left == 0
