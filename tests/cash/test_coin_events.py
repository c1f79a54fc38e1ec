"""The coin acceptor's event-counter rules (header 229)."""

from __future__ import annotations

import pytest

from drivers.coin import coin_events
from drivers.coin.coin_events import BufferedEvent, parse_buffer


def buf(counter: int, *events: tuple[int, int]) -> bytes:
    slots = list(events) + [(0, 0)] * (5 - len(events))
    return bytes([counter]) + b"".join(bytes(s) for s in slots)


def test_new_events_oldest_first() -> None:
    read = parse_buffer(3, buf(5, (4, 1), (3, 1), (1, 1)))
    assert read.new == [BufferedEvent(4, 3, 1), BufferedEvent(5, 4, 1)]
    assert not read.reset and read.lost == 0


def test_first_sight_claims_nothing() -> None:
    assert parse_buffer(None, buf(9, (3, 1))).new == []


def test_counter_wraps_255_to_1() -> None:
    read = parse_buffer(254, buf(2, (3, 1), (4, 1), (3, 1), (3, 1)))
    assert [e.counter for e in read.new] == [255, 1, 2]
    assert coin_events.step(255) == 1


def test_a_jump_of_six_means_lost_events() -> None:
    read = parse_buffer(10, buf(16, (3, 1), (3, 1), (3, 1), (3, 1), (3, 1)))
    assert read.lost == 1 and len(read.new) == 5


def test_counter_zero_after_nonzero_is_a_reset() -> None:
    read = parse_buffer(42, buf(0))
    assert read.reset and read.new == []


def test_wrong_length_is_an_error() -> None:
    with pytest.raises(ValueError):
        parse_buffer(1, b"\x01\x02")


@pytest.mark.parametrize(
    ("code", "name"),
    [(1, "reject coin"), (20, "coin on string"), (129, "inhibited coin 2"), (99, "error 99")],
)
def test_error_names(code: int, name: str) -> None:
    assert coin_events.error_name(code) == name


def test_coin_ids() -> None:
    assert coin_events.parse_coin_id(b"JP500B") == ("JP500B", 500)
    assert coin_events.parse_coin_id(b"......") is None
    assert coin_events.parse_coin_id(b"EU200A") is None
    assert coin_events.parse_coin_id(b"\xff\xfe") is None
