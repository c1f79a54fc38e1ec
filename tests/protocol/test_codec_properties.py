"""Property tests of framing: garbage never crashes the reader, and never yields a frame
that was not sent."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import link_frame as lf
from tests.fuzzing import examples

SESSION = 0x5EED1234
frames = st.builds(
    lf.Frame,
    kind=st.just(lf.KIND_DATA),
    session=st.just(SESSION),
    seq=st.integers(0, lf.SEQ_MOD - 1),
    ack=st.integers(0, lf.SEQ_MOD - 1),
    msg_id=st.integers(0, 255),
    body=st.binary(max_size=lf.MAX_PAYLOAD),
)


@given(st.binary(max_size=600))
def test_cobs_round_trip(data: bytes) -> None:
    enc = lf.cobs_encode(data)
    assert 0 not in enc
    assert len(enc) <= len(data) + 1 + len(data) // 254 + 1
    assert lf.cobs_decode(enc) == data


@given(frames, st.integers(1, 2**32 - 1))
def test_frame_round_trip(frame: lf.Frame, session: int) -> None:
    frame.session = session
    wire = lf.encode_frame(frame)
    # a delimiter before every frame, and one after it
    assert wire[0] == 0 and wire[-1] == 0 and 0 not in wire[1:-1]
    assert lf.decode_frame(wire[1:-1], session) == frame
    # the session is in the CRC only: under another session the frame is not even valid
    try:
        lf.decode_frame(wire[1:-1], session ^ 0x80)
        raise AssertionError("a frame decoded under another session")
    except lf.DecodeError as exc:
        assert exc.reason == "crc"


@given(st.binary(max_size=2000))
def test_garbage_only_raises_decode_error(data: bytes) -> None:
    reader = lf.FrameReader()
    for item in reader.feed(data):
        # anything that passes must have a valid CRC: random garbage essentially never does
        assert isinstance(item, lf.DecodeError | lf.Frame)
    try:
        lf.decode_frame(data)
    except lf.DecodeError as exc:
        assert exc.reason in (
            "empty",
            "too_long",
            "cobs",
            "short",
            "crc",
            "version",
            "kind",
            "length",
            "header",
        )


@given(frames, st.integers(0, 10_000), st.integers(0, 7))
def test_any_single_bit_flip_is_rejected(frame: lf.Frame, where: int, bit: int) -> None:
    raw = bytearray(lf.pack_frame(frame))
    raw[where % len(raw)] ^= 1 << bit
    reader = lf.FrameReader(SESSION)
    items = reader.feed(lf.cobs_encode(bytes(raw)) + b"\x00")
    assert len(items) == 1 and isinstance(items[0], lf.DecodeError)


@settings(max_examples=examples(60))
@given(
    st.lists(st.tuples(frames, st.binary(max_size=20)), min_size=1, max_size=8),
    st.integers(1, 64),
)
def test_reader_recovers_after_garbage(items: list[tuple[lf.Frame, bytes]], chunk: int) -> None:
    """Noise on the line between frames costs nothing: the delimiter before every frame ends
    it, so every frame is decoded, and nothing decoded differs from what was sent."""
    stream = bytearray()
    sent = []
    for frame, noise in items:
        stream += noise.replace(b"\x00", b"")
        stream += lf.encode_frame(frame)
        sent.append(frame)
    reader = lf.FrameReader(SESSION)
    got = []
    for i in range(0, len(stream), chunk):
        got += [x for x in reader.feed(bytes(stream[i : i + chunk])) if isinstance(x, lf.Frame)]
    assert got == sent
