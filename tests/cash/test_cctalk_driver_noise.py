"""The ccTalk bus and hopper driver under noise and vendor differences.

- a babbling line (a byte every 5 ms, forever) cannot keep ``request()`` past its absolute
  deadline: time is an injected clock the fake line advances, so the test measures nothing
  real and fails (instead of hanging) if the deadline slides with each byte;
- resynchronisation is linear: checksum work is counted, not timed;
- ``decode`` refuses 253..255 data bytes as ``encode`` does;
- the hopper driver pays right whether or not a refused dispense advances the event counter.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterator

import pytest

from drivers.coin import cctalk
from drivers.coin.cctalk import MAX_DATA, CcTalkLink, Checksum, Frame, Header
from drivers.coin.cctalk_hopper import CcTalkHopper
from drivers.coin.cctalk_port import CcTalkPort
from drivers.coin.errors import FrameError, NoReply, PayoutUncertain
from sim.cash.cctalk_devices import NoAnswer
from sim.cash.cctalk_models import HOPPER_MODELS
from sim.cash.server import CashSim


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class BabblingLine:
    """A serial port on a line that carries a noise byte every 5 ms and never goes quiet."""

    READS_BEFORE_GIVING_UP = 100_000  # 500 s of line time: far past any sane deadline

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.reads = 0

    @property
    def in_waiting(self) -> int:
        return 1

    def read(self, n: int) -> bytes:
        self.reads += 1
        if self.reads > self.READS_BEFORE_GIVING_UP:
            raise AssertionError("request() is still reading: its deadline slid")
        self.clock.t += 0.005
        return b"\x55"

    def write(self, data: bytes) -> int:
        self.clock.t += len(data) * 10 / 9600
        return len(data)

    def reset_input_buffer(self) -> None:
        pass


@pytest.mark.parametrize("checksum", list(Checksum))
@pytest.mark.parametrize("retry", [True, False])
def test_a_babbling_line_cannot_hold_the_bus_past_the_deadline(
    checksum: Checksum, retry: bool
) -> None:
    clock = FakeClock()
    line = BabblingLine(clock)
    port = CcTalkPort(line, checksum=checksum, reply_timeout_s=0.1, clock=clock)
    start = clock.t
    with pytest.raises(NoReply):
        port.request(2, Header.READ_BUFFERED_CREDIT, retry=retry)
    held = clock.t - start
    assert held <= port.deadline_s(retry=retry) + 0.01  # one read and one write of slack
    # The deadline is absolute and small: a few reply timeouts plus one longest frame each.
    assert port.deadline_s(retry=retry) <= (3 if retry else 1) * (0.1 + 0.3)
    # And the bus is free again: the next request starts (and ends) too.
    with pytest.raises(NoReply):
        port.request(2, Header.SIMPLE_POLL, retry=False)


class SlowLongReply:
    """The echo, then a 252-byte reply at exactly 9600 baud: long, but a real reply."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.pending = b""

    @property
    def in_waiting(self) -> int:
        return 1 if self.pending else 0

    def write(self, data: bytes) -> int:
        reply = cctalk.encode(Frame(1, 2, 0, bytes(range(MAX_DATA))))
        self.pending = data + reply
        return len(data)

    def read(self, n: int) -> bytes:
        self.clock.t += 10 / 9600
        if not self.pending:
            return b""
        byte, self.pending = self.pending[:1], self.pending[1:]
        return byte

    def reset_input_buffer(self) -> None:
        pass


def test_the_deadline_still_lets_the_longest_reply_in() -> None:
    clock = FakeClock()
    port = CcTalkPort(SlowLongReply(clock), reply_timeout_s=0.1, clock=clock)
    assert port.request(2, 229, retry=False) == bytes(range(MAX_DATA))


# -- linear resynchronisation ------------------------------------------------------------------
class CountingCrc:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        self.bytes = 0
        real = cctalk.crc16_ccitt

        def counted(data: bytes) -> int:
            self.calls += 1
            self.bytes += len(data)
            return real(data)

        monkeypatch.setattr(cctalk, "crc16_ccitt", counted)


def feed_one_at_a_time(noise: bytes, checksum: Checksum) -> CcTalkLink:
    link = CcTalkLink(checksum)
    sent = link.request(2, 229)
    link.feed(sent, 0.0)
    for i, byte in enumerate(noise):
        assert link.feed(bytes([byte]), 0.001 + i * 0.001) is None  # 1 ms apart: never a gap
    return link


@pytest.mark.parametrize(
    "pattern",
    [
        b"\x01",
        b"\x01\xfa",
        b"\x01\xfa\x01\x01",
        bytes(random.Random(19).randrange(256) for _ in range(4096)),
    ],
    ids=["all-0x01", "long-head-short-frames-behind", "to-the-host-everywhere", "random"],
)
def test_resynchronisation_work_is_linear_in_the_noise(
    monkeypatch: pytest.MonkeyPatch, pattern: bytes
) -> None:
    # Noise that looks like replies to the host (0x01) everywhere; a head claiming a long frame
    # while short candidates complete behind it is what made every byte rescan the buffer.
    n = 4000
    crc = CountingCrc(monkeypatch)
    feed_one_at_a_time((pattern * (n // len(pattern) + 1))[:n], Checksum.CRC16)
    # Each byte position is checked at most once, over at most one frame: work per noise byte
    # is bounded, whatever came before it (the old rescan did ~120 checks per byte here).
    assert crc.calls <= n
    assert crc.bytes <= n * (MAX_DATA + 3)


def test_the_reply_after_a_burst_of_noise_is_still_found() -> None:
    noise = bytes(random.Random(7).randrange(256) for _ in range(3000))
    link = feed_one_at_a_time(noise, Checksum.CRC16)
    reply = cctalk.encode(Frame(1, 2, 0, b"\x01\x02\x03"), Checksum.CRC16)
    got = None
    for i, byte in enumerate(reply):
        got = link.feed(bytes([byte]), 4.0 + i * 0.001) or got
    assert got == Frame(1, 1, 0, b"\x01\x02\x03")


def test_noise_costs_bounded_memory() -> None:
    link = feed_one_at_a_time(b"\x01" * 20_000, Checksum.SUM8)
    assert len(link._buf) <= 2 * cctalk.MAX_FRAME + 1
    assert link.discarded >= 20_000 - 2 * cctalk.MAX_FRAME


# -- decode refuses what encode refuses ----------------------------------------------------------
@pytest.mark.parametrize("n", [253, 254, 255])
@pytest.mark.parametrize("checksum", list(Checksum))
def test_decode_refuses_253_to_255_data_bytes(n: int, checksum: Checksum) -> None:
    with pytest.raises(ValueError):
        cctalk.encode(Frame(1, 2, 0, bytes(n)), checksum)
    body = bytes([1, n, 2, 0]) + bytes(n)
    if checksum is Checksum.SUM8:
        raw = body + bytes([(-sum(body)) & 0xFF])
    else:
        crc = cctalk.crc16_ccitt(bytes([1, n, 0]) + bytes(n))
        raw = bytes([1, n, crc & 0xFF, 0]) + bytes(n) + bytes([crc >> 8])
    with pytest.raises(FrameError):
        cctalk.decode(raw, checksum)
    ok = cctalk.encode(Frame(1, 2, 0, bytes(MAX_DATA)), checksum)
    assert cctalk.decode(ok, checksum).data == bytes(MAX_DATA)


# -- the hopper driver and both refused-dispense behaviours ------------------------------------
@pytest.fixture(params=sorted(HOPPER_MODELS))
def sim(request: pytest.FixtureRequest) -> Iterator[CashSim]:
    with CashSim() as s:
        for hopper in s.hoppers.values():
            hopper.model = HOPPER_MODELS[request.param]
        yield s


@pytest.fixture
def hopper(sim: CashSim) -> Iterator[CcTalkHopper]:
    port = CcTalkPort.open(sim.cctalk_path, reply_timeout_s=0.05)
    h = CcTalkHopper(port, value=100, address=3, status_interval_s=0.005)
    h.start()
    yield h
    port.close()


def refuse_next_dispense(hopper: CcTalkHopper) -> bytes:
    good = hopper.serial
    hopper.serial = b"\x99\x99\x99"  # wrong security bytes: the hopper NAKs
    return good


def test_a_refused_dispense_pays_nothing_and_the_next_pays_right(
    sim: CashSim, hopper: CcTalkHopper
) -> None:
    good = refuse_next_dispense(hopper)
    result = hopper.dispense(2)
    assert (result.paid, result.fault) == (0, "dispense refused")
    hopper.serial = good
    assert hopper.dispense(2).paid == 2
    assert sim.hoppers[3].paid_total == 2


@pytest.mark.parametrize("count", [3, 2])
def test_a_refusal_whose_nak_is_lost_is_not_taken_for_the_last_payout(
    sim: CashSim, hopper: CcTalkHopper, count: int
) -> None:
    assert hopper.dispense(3).paid == 3  # the figures now say: 3 paid, 0 unpaid
    good = refuse_next_dispense(hopper)
    sim.drop_replies("cctalk", 1, only=Header.DISPENSE)
    result = hopper.dispense(count)
    assert result.paid == 0 and result.fault in ("dispense refused", "dispense not received")
    assert sim.hoppers[3].paid_total == 3
    hopper.serial = good
    assert hopper.dispense(count).paid == count
    assert sim.hoppers[3].paid_total == 3 + count


def test_an_accepted_dispense_whose_ack_is_lost_is_followed(
    sim: CashSim, hopper: CcTalkHopper
) -> None:
    assert hopper.dispense(3).paid == 3
    sim.drop_replies("cctalk", 1, only=Header.DISPENSE)
    assert hopper.dispense(3).paid == 3  # the same count again: the dispense count tells
    assert sim.hoppers[3].paid_total == 6


def test_without_a_dispense_count_an_undecidable_case_is_uncertain_not_guessed(
    sim: CashSim, hopper: CcTalkHopper
) -> None:
    real = sim.hoppers[3].handle

    def without_168(header: int, data: bytes) -> bytes | None:
        if header == Header.DISPENSE_COUNT:
            raise NoAnswer
        return real(header, data)

    sim.hoppers[3].handle = without_168  # type: ignore[method-assign]
    assert hopper.dispense(3).paid == 3
    refuse_next_dispense(hopper)
    sim.drop_replies("cctalk", 1, only=Header.DISPENSE)
    if sim.hoppers[3].model.refusal_advances_counter:
        with pytest.raises(PayoutUncertain):  # the same figures as a fast full payout
            hopper.dispense(3)
    else:
        assert hopper.dispense(3).fault == "dispense not received"  # the counter says so
    assert sim.hoppers[3].paid_total == 3


def test_the_sim_counts_refusals_only_in_the_counting_model(
    sim: CashSim, hopper: CcTalkHopper
) -> None:
    before = hopper.status().event_counter
    refuse_next_dispense(hopper)
    hopper.dispense(1)
    advanced = hopper.status().event_counter != before
    assert advanced == sim.hoppers[3].model.refusal_advances_counter


def test_the_driver_reads_a_hopper_reset_from_163(sim: CashSim, hopper: CcTalkHopper) -> None:
    assert hopper.hopper_flags()[0] & 0x80 == 0  # enabled by start()
    sim.hoppers[3].powered = False
    sim.hopper_power_on(3)
    assert hopper.hopper_flags()[0] & 0xC0 == 0xC0


def test_models_differ_only_in_the_refusal_habit() -> None:
    a, b = (HOPPER_MODELS[k] for k in sorted(HOPPER_MODELS))
    assert dataclasses.replace(a, refusal_advances_counter=False) == dataclasses.replace(
        b, refusal_advances_counter=False
    )
