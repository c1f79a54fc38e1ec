"""Property tests of framing: garbage never crashes the reader, and never yields a frame
that was not sent."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import link_codec as lc
from tests.fuzzing import examples

frames = st.builds(
    lc.Frame,
    kind=st.just(lc.KIND_DATA),
    session=st.integers(0, 2**32 - 1),
    seq=st.integers(0, 255),
    ack=st.integers(0, 255),
    msg_id=st.integers(0, 255),
    body=st.binary(max_size=lc.MAX_PAYLOAD),
)


@given(st.binary(max_size=600))
def test_cobs_round_trip(data: bytes) -> None:
    enc = lc.cobs_encode(data)
    assert 0 not in enc
    assert len(enc) <= len(data) + 1 + len(data) // 254 + 1
    assert lc.cobs_decode(enc) == data


@given(frames)
def test_frame_round_trip(frame: lc.Frame) -> None:
    wire = lc.encode_frame(frame)
    assert wire.endswith(b"\x00") and 0 not in wire[:-1]
    assert lc.decode_frame(wire[:-1]) == frame


@given(st.binary(max_size=2000))
def test_garbage_only_raises_decode_error(data: bytes) -> None:
    reader = lc.FrameReader()
    for item in reader.feed(data):
        # anything that passes must have a valid CRC: random garbage essentially never does
        assert isinstance(item, lc.DecodeError | lc.Frame)
    try:
        lc.decode_frame(data)
    except lc.DecodeError as exc:
        assert exc.reason in ("empty", "too_long", "cobs", "short", "crc", "version", "kind",
                              "length")


@given(frames, st.integers(0, 10_000), st.integers(0, 7))
def test_any_single_bit_flip_is_rejected(frame: lc.Frame, where: int, bit: int) -> None:
    raw = bytearray(lc.pack_frame(frame))
    raw[where % len(raw)] ^= 1 << bit
    reader = lc.FrameReader()
    items = reader.feed(lc.cobs_encode(bytes(raw)) + b"\x00")
    assert len(items) == 1 and isinstance(items[0], lc.DecodeError)


@settings(max_examples=examples(60))
@given(
    st.lists(st.tuples(frames, st.binary(max_size=20)), min_size=1, max_size=8),
    st.integers(1, 64),
)
def test_reader_recovers_after_garbage(items: list[tuple[lc.Frame, bytes]], chunk: int) -> None:
    """Garbage between frames costs at most the frame it touches; every frame that arrives
    intact after a delimiter is decoded, and nothing decoded differs from what was sent."""
    stream = bytearray()
    sent = []
    for frame, noise in items:
        stream += noise.replace(b"\x00", b"") + b"\x00"  # noise, then a delimiter resyncs
        stream += lc.encode_frame(frame)
        sent.append(frame)
    reader = lc.FrameReader()
    got = []
    for i in range(0, len(stream), chunk):
        got += [x for x in reader.feed(bytes(stream[i : i + chunk])) if isinstance(x, lc.Frame)]
    assert got == sent
