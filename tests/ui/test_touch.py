"""Screen messages to events: every message kind, bad input as a typed error, the PIN pad."""

from __future__ import annotations

import pytest

from documents.model import CertificateType, JuminhyoOption
from host.session import events as E
from host.session.demo import OPEN_TIME
from host.session.machine import SessionMachine
from host.session.pin import ClerkPin
from host.ui.touch import PinPad, UiInputError, parse
from sim.screen.inject import InjectError, decode


def test_messages_become_events() -> None:
    pad = PinPad()
    cases = [
        ({"event": "start"}, E.StartPressed()),
        ({"event": "language", "lang": "ko"}, E.LanguageChosen("ko")),
        ({"event": "certificate", "kind": "inkan"}, E.CertificateChosen(CertificateType.INKAN)),
        ({"event": "subjects", "ids": ["m1", "m2"]}, E.SubjectsChosen(("m1", "m2"))),
        (
            {"event": "options", "options": ["my_number"]},
            E.OptionsChosen(frozenset({JuminhyoOption.MY_NUMBER})),
        ),
        ({"event": "year", "year": 2024}, E.FiscalYearChosen(2024)),
        ({"event": "copies", "copies": 3}, E.CopiesChosen(3)),
        ({"event": "cancel"}, E.Cancel()),
        ({"event": "clerk"}, E.ClerkRequested()),
    ]
    for msg, event in cases:
        assert parse(msg, pad, clerk_pin=False) == event


@pytest.mark.parametrize(
    "msg",
    [
        None,
        [],
        {"event": 3},
        {"event": "teleport"},
        {"event": "certificate", "kind": "passport"},
        {"event": "options", "options": ["everything"]},
        {"event": "options", "options": "my_number"},
        {"event": "copies", "copies": "2"},
        {"event": "copies", "copies": True},
        {"event": "subjects", "ids": ["x"] * 17},
        {"event": "language", "lang": "x" * 65},
        {"event": "pin_digit", "digit": "12"},
        {"event": "pin_digit", "digit": "a"},
    ],
)
def test_bad_messages_are_typed_errors(msg: object) -> None:
    pad = PinPad()
    pad.press("5")
    with pytest.raises(UiInputError) as info:
        parse(msg, pad, clerk_pin=False)
    assert info.value.key == "error.bad_message"
    assert pad.count == 1  # nothing lost


def test_pin_pad_collects_four_digits_and_clears_after_submit() -> None:
    pad = PinPad()
    for d in "73591":
        assert parse({"event": "pin_digit", "digit": d}, pad, clerk_pin=False) is None
    assert pad.count == 4  # the fifth press is ignored
    assert "7359" not in repr(pad)
    event = parse({"event": "pin_submit"}, pad, clerk_pin=False)
    assert isinstance(event, E.PinEntered) and event.pin.use(bytes) == b"7359"
    assert pad.count == 0
    for d in "000000":
        parse({"event": "pin_digit", "digit": d}, pad, clerk_pin=True)
    event = parse({"event": "pin_submit"}, pad, clerk_pin=True)
    assert isinstance(event, E.ClerkPinEntered)


def test_clerk_pin_pad_takes_6_to_12_digits_and_the_card_pin_stays_4() -> None:
    pad = PinPad()
    for d in "1234567890123":  # 13 presses: the 13th is ignored
        parse({"event": "pin_digit", "digit": d}, pad, clerk_pin=True)
    assert pad.count == 12 and "123456" not in repr(pad)
    event = parse({"event": "pin_submit"}, pad, clerk_pin=True)
    assert isinstance(event, E.ClerkPinEntered) and isinstance(event.pin, ClerkPin)
    assert "1234" not in repr(event) and pad.count == 0
    event.pin.wipe()
    for d in "12345":  # five digits: too short for a clerk
        parse({"event": "pin_digit", "digit": d}, pad, clerk_pin=True)
    with pytest.raises(UiInputError) as info:
        parse({"event": "pin_submit"}, pad, clerk_pin=True)
    assert info.value.key == "error.clerk_pin_incomplete" and pad.count == 0
    assert "12345" not in str(info.value)
    for d in "123456":  # the citizen's pad stops at 4, and takes exactly 4
        parse({"event": "pin_digit", "digit": d}, pad, clerk_pin=False)
    assert pad.count == 4
    event = parse({"event": "pin_submit"}, pad, clerk_pin=False)
    assert isinstance(event, E.PinEntered) and event.pin.use(bytes) == b"1234"
    assert not isinstance(event.pin, ClerkPin)


def test_incomplete_pin_is_refused_and_cleared() -> None:
    pad = PinPad()
    pad.press("1")
    with pytest.raises(UiInputError) as info:
        parse({"event": "pin_submit"}, pad, clerk_pin=False)
    assert info.value.key == "error.pin_incomplete" and pad.count == 0
    pad.press("2")
    parse({"event": "pin_clear"}, pad, clerk_pin=False)
    assert pad.count == 0


def test_injection_decoder() -> None:
    m = SessionMachine(OPEN_TIME)
    assert decode({"type": "CardInserted", "tries_left": 2}, m) == E.CardInserted(2)
    assert decode({"type": "Timeout"}, m) == E.Timeout(m.seq)
    assert decode({"type": "ChallengeIssued", "challenge": "0a0b"}, m) == E.ChallengeIssued(
        b"\x0a\x0b"
    )
    assert decode({"type": "Refused", "reason": "deceased"}, m) == E.Refused(
        E.RefusalReason.DECEASED
    )
    ev = decode({"type": "Authenticated", "menu": "demo"}, m)
    assert isinstance(ev, E.Authenticated) and len(ev.menu.offers) == 4
    custom = decode(
        {
            "type": "Authenticated",
            "menu": {
                "offers": [{"kind": "shotoku", "fee_per_copy_yen": 300, "fiscal_years": [2025]}]
            },
        },
        m,
    )
    assert isinstance(custom, E.Authenticated)
    assert custom.menu.offers[0].fiscal_years == (2025,)
    for bad in (
        {"type": "PinEntered"},
        {"type": "Nope"},
        {"type": "CardInserted", "tries_left": "3"},
        {"type": "CardInserted", "bogus": 1},
        {"type": "Tick", "now": "2026-11-24T10:00:00"},
        {"type": "Authenticated", "menu": {"offers": [{}]}},
        "CardInserted",
    ):
        with pytest.raises((InjectError, ValueError)):
            decode(bad, m)
