"""The driver's ID-003 parser after it was made linear: the same frames and the same discard
count as the straightforward one-byte-at-a-time resynchronisation it replaced, on any input
and any read sizes. (Its speed is measured by `python -m bench.id003_parser`.)"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from drivers.coin import id003


def bitwise_kermit(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc


class ReferenceParser:
    """Drop one byte whenever the front is not a well-formed frame; wait when it is short."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.discarded = 0

    def feed(self, data: bytes) -> list[id003.Frame]:
        self.buf.extend(data)
        out = []
        while self.buf:
            if self.buf[0] != 0xFC:
                del self.buf[0]
                self.discarded += 1
                continue
            if len(self.buf) < 2:
                break
            length = self.buf[1]
            if length < 5:
                del self.buf[0]
                self.discarded += 1
                continue
            if len(self.buf) < length:
                break
            raw = bytes(self.buf[:length])
            if bitwise_kermit(raw[:-2]) != raw[-1] << 8 | raw[-2]:
                del self.buf[0]
                self.discarded += 1
                continue
            out.append(id003.Frame(raw[2], raw[3:-2]))
            del self.buf[:length]
        return out


@given(st.binary(max_size=512))
def test_crc_is_crc16_kermit(data: bytes) -> None:
    assert id003.crc_kermit(data) == bitwise_kermit(data)


frames = st.builds(
    lambda cmd, data: id003.encode(cmd, data), st.integers(0, 255), st.binary(max_size=8)
)
pieces = st.one_of(frames, st.binary(max_size=12), st.just(b"\xfc"), st.just(b"\xfc\xfc"))


@given(st.lists(pieces, max_size=30), st.lists(st.integers(1, 40), min_size=1, max_size=8))
def test_same_frames_and_discards_as_the_reference(parts: list[bytes], sizes: list[int]) -> None:
    stream = b"".join(parts)
    ours, ref = id003.Id003Parser(), ReferenceParser()
    got: list[id003.Frame] = []
    want: list[id003.Frame] = []
    pos = i = 0
    while pos < len(stream):
        chunk = stream[pos : pos + sizes[i % len(sizes)]]
        got += ours.feed(chunk)
        want += ref.feed(chunk)
        pos += len(chunk)
        i += 1
    assert got == want
    assert ours.discarded == ref.discarded


def test_a_long_run_of_sync_bytes_then_a_frame() -> None:
    parser = id003.Id003Parser()
    escrow = id003.encode(0x13, b"\x61")
    got = []
    stream = b"\xfc" * 5000 + escrow + b"\xfc" * 300 + escrow + b"\x00" * 252
    for i in range(0, len(stream), 64):
        got += parser.feed(stream[i : i + 64])
    # Each frame surfaces once the bogus 252-byte lengths in front of it have run out.
    assert got == [id003.Frame(0x13, b"\x61")] * 2
    assert parser.discarded == 5000 + 300 + 252
