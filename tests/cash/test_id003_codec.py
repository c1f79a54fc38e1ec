"""ID-003 sans-IO core: CRC-16/KERMIT vectors, parser resync, currency table, inhibit mask."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.coin import id003
from drivers.coin.errors import FrameError


def test_reference_frames() -> None:
    assert id003.encode(0x11).hex(" ") == "fc 05 11 27 56"
    assert id003.encode(0x50).hex(" ") == "fc 05 50 aa 05"
    assert id003.decode(bytes.fromhex("fc 05 11 27 56")) == id003.Frame(0x11)


def test_bad_crc_is_refused() -> None:
    with pytest.raises(FrameError):
        id003.decode(bytes.fromhex("fc 05 11 27 57"))


def test_parser_resynchronises_after_noise_and_a_corrupted_length() -> None:
    parser = id003.Id003Parser()
    escrow = id003.encode(0x13, b"\x61")
    broken = bytearray(escrow)
    broken[1] = 0x09  # a corrupted length byte
    frames = parser.feed(b"\x00\xff" + bytes(broken) + b"\x12" + escrow)
    assert frames == [id003.Frame(0x13, b"\x61")]
    assert parser.discarded > 0


def test_frames_split_across_reads() -> None:
    parser = id003.Id003Parser()
    raw = id003.encode(0x17, b"\x72")
    assert parser.feed(raw[:3]) == []
    assert parser.feed(raw[3:]) == [id003.Frame(0x17, b"\x72")]


def test_currency_table_builds_the_denomination_map() -> None:
    data = bytes([0x61, 0, 1, 3, 0x63, 0, 5, 3, 0x64, 0, 1, 4, 0x65, 0, 0, 0])
    assert id003.parse_currency_table(data) == {0x61: 1000, 0x63: 5000, 0x64: 10000}
    with pytest.raises(FrameError):
        id003.parse_currency_table(b"\x61\x00\x01")


def test_denomination_mask_disables_all_but_enabled() -> None:
    table = {0x61: 1000, 0x62: 2000}
    mask = int.from_bytes(id003.denomination_mask(table, frozenset({1000})), "little")
    assert not mask & 1  # 1000 enabled
    assert mask & 2  # 2000 disabled
    assert mask & 4  # unassigned codes stay disabled


@given(st.binary(max_size=200))
def test_noise_only_yields_frames_it_really_contains(noise: bytes) -> None:
    for frame in id003.Id003Parser().feed(noise):
        assert id003.encode(frame.cmd, frame.data) in noise
