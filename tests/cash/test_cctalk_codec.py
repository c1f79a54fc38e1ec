"""ccTalk sans-IO core: reference vectors, both checksums, echo removal, 50 ms gap, noise."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.coin import cctalk
from drivers.coin.cctalk import CcTalkLink, Checksum, Frame
from drivers.coin.errors import FrameError


def test_sum8_reference_vectors() -> None:
    assert cctalk.encode(Frame(2, 1, 242)).hex(" ") == "02 00 01 f2 0b"
    reply = cctalk.decode(bytes.fromhex("01 03 02 00 4E 61 BC 8F"))
    assert reply == Frame(1, 2, 0, bytes.fromhex("4E 61 BC"))


def test_crc16_reference_vector() -> None:
    assert cctalk.crc16_ccitt(bytes([40, 0, 1])) == 0x3F46
    assert cctalk.encode(Frame(40, 1, 1), Checksum.CRC16).hex(" ") == "28 00 46 01 3f"
    assert cctalk.decode(bytes.fromhex("28 00 46 01 3f"), Checksum.CRC16).header == 1


@pytest.mark.parametrize("checksum", list(Checksum))
def test_a_flipped_bit_is_refused(checksum: Checksum) -> None:
    raw = bytearray(cctalk.encode(Frame(1, 2, 0, b"\x05\x06"), checksum))
    raw[4] ^= 0x01
    with pytest.raises(FrameError):
        cctalk.decode(bytes(raw), checksum)


def test_bad_length_is_refused() -> None:
    with pytest.raises(FrameError):
        cctalk.decode(bytes.fromhex("01 05 02 00 f8"))


def reply(data: bytes = b"", checksum: Checksum = Checksum.SUM8, source: int = 2) -> bytes:
    return cctalk.encode(Frame(1, source, 0, data), checksum)


@pytest.mark.parametrize("checksum", list(Checksum))
def test_echo_is_dropped_before_the_reply(checksum: Checksum) -> None:
    link = CcTalkLink(checksum)
    sent = link.request(2, 229)
    frame = link.feed(sent + reply(b"\x01" * 11, checksum), 0.0)
    assert frame is not None and frame.data == b"\x01" * 11


def test_echo_and_reply_in_pieces() -> None:
    link = CcTalkLink()
    wire = link.request(2, 254) + reply()
    for i, byte in enumerate(wire[:-1]):
        assert link.feed(bytes([byte]), i * 0.001) is None
    assert link.feed(wire[-1:], 0.02) == Frame(1, 2, 0, b"")


def test_a_silence_over_50ms_discards_the_partial_packet() -> None:
    link = CcTalkLink()
    link.request(2, 254)
    link.feed(link._echo, 0.0)
    good = reply(b"\x07")
    assert link.feed(good[:3], 0.001) is None
    # The rest arrives too late: the start is thrown away and the tail is noise.
    assert link.feed(good[3:], 0.100) is None
    assert link.discarded >= 3
    assert link.feed(good, 0.2) == Frame(1, 2, 0, b"\x07")


def test_a_corrupted_length_byte_does_not_desynchronise() -> None:
    link = CcTalkLink()
    link.request(2, 254)
    bad = bytearray(reply(b"\x01"))
    bad[1] = 0x02  # claims one more byte than it has
    assert link.feed(bytes(bad), 0.0) is None
    assert link.feed(reply(b"\x09"), 0.001) == Frame(1, 2, 0, b"\x09")


def test_replies_from_the_wrong_slave_or_to_another_master_are_ignored() -> None:
    link = CcTalkLink()
    link.request(3, 166)
    other = cctalk.encode(Frame(1, 2, 0, b"\x00"))
    not_for_us = cctalk.encode(Frame(5, 3, 0, b"\x00"))
    assert link.feed(other + not_for_us, 0.0) is None
    assert link.feed(reply(b"\x01\x00\x00\x00", source=3), 0.0) is not None


@given(st.binary(max_size=300))
def test_garbage_never_makes_a_frame_out_of_nothing(noise: bytes) -> None:
    link = CcTalkLink()
    link.request(2, 229)
    frame = link.feed(noise, 0.0)
    if frame is not None:
        # Only a byte string that happens to contain a valid frame to us decodes.
        raw = cctalk.encode(frame)
        assert raw in noise
