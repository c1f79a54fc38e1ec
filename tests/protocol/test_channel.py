"""The reliable channel: handshake, epochs, exactly-once ordered delivery under faults,
back-pressure, refusals, timeouts."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import link_catalog as lcat
from protocol import link_channel as lch
from protocol import link_frame as lf
from tests.fuzzing import examples
from tests.protocol.channel_harness import Side, Wire


def up_wire() -> Wire:
    w = Wire()
    w.tick(0)
    w.settle(100, send=False)
    assert w.a.channel.up and w.b.channel.up
    return w


def test_handshake_reports_peer_identity() -> None:
    w = up_wire()
    ups = [e for e in w.a.events if isinstance(e, lch.LinkUp)]
    assert len(ups) == 1
    assert ups[0].peer_fw == "dev" and ups[0].peer_role == lch.ROLE_DEVICE
    assert ups[0].peer_epoch == w.b.channel.epoch
    assert w.a.channel.session == w.b.channel.session != 0


def test_messages_flow_both_ways_in_order() -> None:
    w = up_wire()
    w.settle(500)
    w.check_exactly_once()
    assert len(w.a.delivered) > 20 and len(w.b.delivered) > 20


def test_heartbeats_keep_an_idle_link_up() -> None:
    w = up_wire()
    w.settle(5000, send=False)
    assert w.a.channel.up and w.b.channel.up
    assert not any(isinstance(e, lch.LinkDown) for e in w.a.events + w.b.events)


def test_silence_brings_the_link_down_and_returns_unacked() -> None:
    w = up_wire()
    w.a.try_send(w.now, 3)
    w.inflight = {"ab": [], "ba": []}
    for _ in range(120):
        w.tick(10)
        w.inflight = {"ab": [], "ba": []}  # the cable is cut
    downs = [e for e in w.a.events if isinstance(e, lch.LinkDown)]
    assert downs and downs[0].reason == lch.DOWN_TIMEOUT
    assert len(downs[0].unacked) == 3
    w.settle(1000, send=False)
    assert w.a.channel.up and w.b.channel.up  # re-handshake once the line is back


def test_device_reset_is_detected_and_old_acks_cannot_ack_new_frames() -> None:
    """The classic MIN bug: after the MCU resets, an ACK from its previous life must not
    acknowledge frames of the new session."""
    w = up_wire()
    w.a.try_send(w.now, 3)
    w.collect()
    for _ in range(3):
        w.deliver("ab")
    w.tick(lch.ACK_DELAY_MS)  # the delayed ACK goes out
    old_acks = b"".join(w.inflight["ba"])  # the old device's ACKs, held back
    assert old_acks
    w.inflight["ba"] = []
    # the device resets: a new incarnation, fresh random epoch, sequence numbers from 0
    w.b = Side(lch.ROLE_DEVICE, "dev", w.now, 7)
    w.tick(0)
    w.settle(100, send=False)
    downs = [e for e in w.a.events if isinstance(e, lch.LinkDown)]
    assert downs and downs[-1].reason == lch.DOWN_PEER_RESET
    assert len(downs[-1].unacked) == 3  # the host knows these may not have arrived
    assert w.a.channel.up and w.a.channel.peer_epoch == w.b.channel.epoch
    w.a.try_send(w.now, 3)  # new session, sequence numbers 0..2 again
    w.collect()
    w.inflight["ab"] = []  # they are lost on the way
    assert w.a.channel.in_flight() == 3
    w.a.handle(w.a.channel.receive(old_acks, w.now))
    assert w.a.channel.in_flight() == 3, "a stale ACK acknowledged a new frame"
    assert w.a.channel.stats["rx_stale_session"] >= 1
    w.settle(500, send=False)
    w.check_exactly_once()
    assert w.a.channel.in_flight() == 0


def test_host_restart_is_detected_by_the_device() -> None:
    w = up_wire()
    w.a = Side(lch.ROLE_HOST, "host", w.now, 9)
    w.tick(0)
    w.settle(100, send=False)
    downs = [e for e in w.b.events if isinstance(e, lch.LinkDown)]
    assert downs and downs[-1].reason == lch.DOWN_PEER_RESET
    assert w.b.channel.up and w.b.channel.peer_epoch == w.a.channel.epoch


def test_stale_data_from_a_previous_session_is_not_delivered() -> None:
    w = up_wire()
    w.a.try_send(w.now, 2)
    w.collect()
    old_data = b"".join(w.inflight["ab"])
    w.inflight["ab"] = []
    w.b = Side(lch.ROLE_DEVICE, "dev", w.now, 11)
    w.tick(0)
    w.settle(100, send=False)
    w.b.handle(w.b.channel.receive(old_data, w.now))
    assert w.b.delivered == []


def test_window_gives_back_pressure() -> None:
    w = up_wire()
    ch = w.a.channel
    assert w.a.try_send(w.now, lch.WINDOW + 5) == lch.WINDOW
    assert not ch.can_send()
    with pytest.raises(lch.WindowFull):
        ch.send(lcat.MSG_LED, b"\x00\x01", w.now)
    w.collect()
    w.settle(50, send=False)
    assert ch.can_send() and ch.in_flight() == 0


def test_send_errors_are_typed_and_queue_nothing() -> None:
    w = Wire()
    with pytest.raises(lch.LinkNotUp):
        w.a.channel.send(lcat.MSG_LED, b"\x00\x01", 0)
    w = up_wire()
    with pytest.raises(lch.PayloadTooLarge):
        w.a.channel.send(lcat.MSG_LED, bytes(lf.MAX_PAYLOAD + 1), w.now)
    assert w.a.channel.in_flight() == 0
    with pytest.raises(lcat.MessageError):
        lcat.encode_message(lcat.MSG_COIN, (100, 1))
    with pytest.raises(lcat.MessageError):
        lcat.decode_message(0x7E, b"")


@pytest.mark.parametrize(
    "tweak, reason",
    [
        ({"catalog_hash": lcat.CATALOG_HASH ^ 0x5A5A}, lch.REFUSE_CATALOG),
        ({"role": lch.ROLE_HOST}, lch.REFUSE_ROLE),
    ],
)
def test_mismatched_builds_refuse_on_both_sides(tweak: dict[str, int], reason: int) -> None:
    w = Wire()
    role = tweak.get("role", lch.ROLE_DEVICE)
    w.b.channel = lch.Channel(
        role, "dev-other", 0, catalog_hash=tweak.get("catalog_hash", lcat.CATALOG_HASH)
    )
    w.tick(0)
    for _ in range(50):
        w.settle(10, send=False)
    for side in (w.a, w.b):
        refused = [e for e in side.events if isinstance(e, lch.Refused)]
        assert refused, "no refusal reported"
        assert {r.reason for r in refused} == {reason}
        assert not side.channel.up
        assert lch.REFUSE_TEXT[reason] in refused[0].text
    # each side reports its own finding and the peer's REFUSE frame
    for side in (w.a, w.b):
        assert {r.by_peer for r in side.events if isinstance(r, lch.Refused)} == {False, True}


def test_peer_speaking_another_protocol_version_is_refused() -> None:
    w = Wire()
    hello = lch.Hello(lch.ROLE_DEVICE, lcat.CATALOG_HASH, 1234, 0, 0, "fw-v2").pack()
    raw = lf.pack_frame(lf.Frame(lf.KIND_HELLO, body=hello))
    v3 = b"\x03" + raw[1:-4]  # byte 0 is the version in every version
    v3 += struct.pack("<I", lf.crc32(v3))
    w.a.handle(w.a.channel.receive(b"\x00" + lf.cobs_encode(v3) + b"\x00", 0))
    refused = [e for e in w.a.events if isinstance(e, lch.Refused)]
    assert refused and refused[0].reason == lch.REFUSE_VERSION and "v3" in refused[0].text
    reply = lf.FrameReader().feed(w.a.channel.outgoing())
    assert any(isinstance(f, lf.Frame) and f.kind == lf.KIND_REFUSE for f in reply)


actions = st.lists(
    st.one_of(
        st.tuples(st.just("send"), st.sampled_from("ab"), st.integers(1, 10)),
        st.tuples(st.just("deliver"), st.sampled_from(["ab", "ba"]), st.integers(0, 20)),
        st.tuples(st.just("drop"), st.sampled_from(["ab", "ba"]), st.integers(0, 20)),
        st.tuples(st.just("dup"), st.sampled_from(["ab", "ba"]), st.integers(0, 20)),
        st.tuples(
            st.just("flip"), st.sampled_from(["ab", "ba"]), st.integers(0, 20), st.integers(0, 400)
        ),
        st.tuples(st.just("garbage"), st.sampled_from(["ab", "ba"]), st.binary(max_size=30)),
        st.tuples(st.just("tick"), st.integers(0, 150)),
    ),
    max_size=120,
)


@settings(max_examples=examples(100), deadline=None)
@given(actions)
def test_faults_never_lose_duplicate_reorder_or_corrupt(script: list[tuple]) -> None:  # type: ignore[type-arg]
    w = up_wire()
    for action in script:
        kind = action[0]
        if kind == "send":
            (w.a if action[1] == "a" else w.b).try_send(w.now, action[2])
            w.collect()
        elif kind == "tick":
            w.tick(action[1])
        else:
            queue = w.inflight[action[1]]
            if kind == "garbage":
                if action[2]:
                    queue.append(action[2])
                continue
            if not queue:
                continue
            i = action[2] % len(queue)
            if kind == "deliver":
                w.deliver(action[1], i)
            elif kind == "drop":
                queue.pop(i)
            elif kind == "dup":
                queue.insert(i, queue[i])
            elif kind == "flip":
                frame = bytearray(queue[i])
                frame[action[3] % len(frame)] ^= 0x04
                queue[i] = bytes(frame)
        w.check_exactly_once()
    w.settle(1500)
    w.settle(300, send=False)  # the last delayed ACKs go out
    w.check_exactly_once()
    assert w.a.channel.up and w.b.channel.up
    for sender, receiver in ((w.a, w.b), (w.b, w.a)):
        assert sender.channel.in_flight() == 0
        s = sender.channel.session
        got = [n for sess, n in receiver.delivered if sess == s]
        assert got == list(range(sender.sent_in.get(s, 0))), "a message of the session was lost"


def test_line_cut_before_the_device_saw_the_handshake_complete() -> None:
    """The host goes up, the frame that would bring the device up is lost, then the line is
    cut: the host times out and moves to a new epoch while the device, never up, keeps its
    own. Once the line is back they must meet again (a real deadlock found by the sim)."""
    w = Wire()
    w.tick(0)
    w.inflight["ba"] = []  # the device's first HELLO is lost
    w.deliver("ab")  # the host's HELLO: the device answers with its epoch and the host's
    w.inflight["ab"] = []
    w.deliver("ba")  # the host is up now...
    w.inflight["ab"] = []  # ...but its answer, which would bring the device up, is lost
    assert w.a.channel.up and not w.b.channel.up
    for _ in range(150):  # 1.5 s of a cut line
        w.inflight = {"ab": [], "ba": []}
        w.tick(10)
    assert not w.a.channel.up
    w.settle(1000, send=False)
    assert w.a.channel.up and w.b.channel.up
    assert w.a.channel.session == w.b.channel.session
