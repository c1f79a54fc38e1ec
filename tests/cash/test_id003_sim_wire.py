"""The simulated ID-003 validator as a third-party host sees it.

Hosts here write frames by hand in the layout of the public ID-003 Communication
Specification (``FC LNG CMD DATA CRC-lo CRC-hi``) with a CRC-16/KERMIT written out below,
not the project's driver; replies are split and checked the same way. Timing behaviour is
driven through the simulator core with an injected clock; wire behaviour over a real pty.
"""

from __future__ import annotations

import os
import select
import termios
import time
import tty
from collections.abc import Iterator

import pytest

from sim.cash.id003_device import SimValidator
from sim.cash.id003_wire import INTER_BYTE_TIMEOUT_S, Id003Model, NoFaults
from sim.cash.server import CashSim


def kermit(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc


def frame(cmd: int, data: bytes = b"") -> bytes:
    body = bytes([0xFC, 5 + len(data), cmd]) + data
    crc = kermit(body)
    return body + bytes([crc & 0xFF, crc >> 8])


# Literal frames as printed in public ID-003 material.
STATUS_REQUEST = bytes.fromhex("fc 05 11 27 56")
ACK = bytes.fromhex("fc 05 50 aa 05")
RESET = frame(0x40)
STACK_1 = frame(0x41)
ENQ = 0x05
INVALID_COMMAND = 0x4B
COMMUNICATION_ERROR = 0x4A
IDLING, ACCEPTING, ESCROW, STACKING, VEND_VALID, STACKED, REJECTING = range(0x11, 0x18)
DISABLED, INITIALIZE = 0x1A, 0x1B
POWER_UP, STACKER_OPEN, ACCEPTOR_JAM = 0x40, 0x44, 0x45


def split(raw: bytes) -> list[tuple[int, bytes]]:
    """Strictly: every byte from the validator belongs to a well-formed message."""
    out = []
    while raw:
        assert raw[0] == 0xFC, raw.hex(" ")
        length = raw[1]
        msg, raw = raw[:length], raw[length:]
        assert len(msg) == length and kermit(msg[:-2]) == msg[-1] << 8 | msg[-2], msg.hex(" ")
        out.append((msg[2], msg[3:-2]))
    return out


def test_own_crc_matches_the_published_frames() -> None:
    assert frame(0x11) == STATUS_REQUEST
    assert frame(0x50) == ACK


# -- the core, with an injected clock --------------------------------------------------------


class CoreHost:
    def __init__(self) -> None:
        self.validator = SimValidator()
        self.model = Id003Model(self.validator, NoFaults(), clock=self._forbidden_clock)
        self.now = 100.0

    @staticmethod
    def _forbidden_clock() -> float:
        raise AssertionError("the test passes every arrival time")

    def send(self, raw: bytes, after: float = 0.2) -> list[tuple[int, bytes]]:
        self.now += after
        return split(self.model.receive(raw, self.now))

    def poll(self) -> list[tuple[int, bytes]]:
        return self.send(STATUS_REQUEST)

    def start(self, mask: bytes = b"\x00\x00") -> None:
        assert self.poll() == [(POWER_UP, b"")]
        assert self.send(RESET) == [(0x50, b"")]
        assert self.poll() == [(INITIALIZE, b"")]
        assert self.send(frame(0xC0, mask)) == [(0xC0, mask)]
        assert self.send(frame(0xC3, b"\x00")) == [(0xC3, b"\x00")]
        assert self.poll() == [(IDLING, b"")]

    def tick(self) -> list[tuple[int, bytes]]:
        return split(self.model.tick(self.now))


@pytest.fixture
def host() -> CoreHost:
    return CoreHost()


def test_a_partial_message_is_dropped_after_the_inter_byte_gap(host: CoreHost) -> None:
    host.start()
    # A sync byte and a plausible length, then silence: the unit waits for 8 more bytes.
    assert host.send(bytes.fromhex("fc 0a 11")) == []
    # Within the gap the next bytes still belong to that message: no answer yet.
    assert host.send(STATUS_REQUEST, after=INTER_BYTE_TIMEOUT_S / 2) == []
    # After the gap the stale bytes are gone and the unit answers at once.
    assert host.send(STATUS_REQUEST, after=INTER_BYTE_TIMEOUT_S * 2) == [(IDLING, b"")]
    assert host.model.receiver.dropped_partial == 1


def test_truncated_command_then_a_whole_one(host: CoreHost) -> None:
    host.start()
    assert host.send(STATUS_REQUEST[:3]) == []
    assert host.send(STATUS_REQUEST, after=INTER_BYTE_TIMEOUT_S * 2) == [(IDLING, b"")]


def test_noise_glued_to_a_command_loses_nothing(host: CoreHost) -> None:
    host.start()
    # The two noise bytes: a sync and an absurd length, right before a poll.
    assert host.send(b"\xfc\xff" + STATUS_REQUEST, after=0.001) == [(IDLING, b"")]
    # A sync and a plausible length glued to the poll: skipped, poll answered.
    assert host.send(b"\xfc\x06" + STATUS_REQUEST, after=0.001) == [(IDLING, b"")]
    # Noise without any sync byte.
    assert host.send(b"\x00\x13\x99" + STATUS_REQUEST, after=0.001) == [(IDLING, b"")]


def test_bad_crc_is_answered_with_communication_error_and_changes_nothing(
    host: CoreHost,
) -> None:
    host.start()
    bad = bytearray(frame(0xC3, b"\x01"))  # would inhibit the unit
    bad[-1] ^= 0xFF
    assert host.send(bytes(bad)) == [(COMMUNICATION_ERROR, b"")]
    assert host.send(bytes.fromhex("fc 05 11 27 57")) == [(COMMUNICATION_ERROR, b"")]
    assert host.send(frame(0x83)) == [(0x83, b"\x00")]  # still enabled
    assert host.poll() == [(IDLING, b"")]


def test_every_setting_is_read_back(host: CoreHost) -> None:
    host.poll()
    # Power-up values: everything disabled and inhibited, polling mode.
    assert host.send(frame(0x80)) == [(0x80, b"\xff\xff")]
    assert host.send(frame(0x82)) == [(0x82, b"\x00")]
    assert host.send(frame(0x83)) == [(0x83, b"\x01")]
    settings = {
        0xC0: b"\xfe\xff",  # enable the first denomination only
        0xC1: b"\x01\x00",  # high security for it
        0xC2: b"\x01",  # interrupt mode 1
        0xC3: b"\x00",  # enable
        0xC4: b"\x0c",  # refuse the back side
        0xC5: b"\x02\x00",  # power recovery
        0xC6: b"\x01\x12",  # barcode: interleaved 2 of 5, 18 characters
        0xC7: b"\x00",  # bills and tickets
    }
    for cmd, data in settings.items():
        assert host.send(frame(cmd, data))[0] == (cmd, data)  # setting commands echo
    for cmd, data in settings.items():
        assert host.send(frame(cmd - 0x40))[0] == (cmd - 0x40, data)
    version = host.send(frame(0x88))[0]
    boot = host.send(frame(0x89))[0]
    assert version[0] == 0x88 and version[1]
    assert boot[0] == 0x89 and boot[1]


def test_settings_with_the_wrong_length_are_invalid(host: CoreHost) -> None:
    host.poll()
    assert host.send(frame(0xC0, b"\x00")) == [(INVALID_COMMAND, b"")]
    assert host.send(frame(0xC6, b"\x01")) == [(INVALID_COMMAND, b"")]
    assert host.send(frame(0x80, b"\x00")) == [(INVALID_COMMAND, b"")]
    assert host.send(frame(0x80)) == [(0x80, b"\xff\xff")]


def test_interrupt_mode_2_is_refused(host: CoreHost) -> None:
    host.poll()
    assert host.send(frame(0xC2, b"\x02")) == [(INVALID_COMMAND, b"")]
    assert host.send(frame(0x82)) == [(0x82, b"\x00")]


@pytest.mark.parametrize(("kind", "mask", "reason"), [
    ("counterfeit", b"\x00\x00", b"\x72"),
    ("genuine", b"\x01\x00", b"\x79"),  # 1000-yen code 0x61 disabled by C0
])  # fmt: skip
def test_a_rejected_bill_is_drawn_in_first(
    host: CoreHost, kind: str, mask: bytes, reason: bytes
) -> None:
    host.start(mask)
    host.validator.bills.append((1000, kind))
    seen = [host.poll()[0] for _ in range(4)]
    assert seen == [(IDLING, b""), (ACCEPTING, b""), (REJECTING, reason), (IDLING, b"")]
    assert host.validator.stacked_total == 0


def test_reset_while_a_fault_is_present_shows_initialize(host: CoreHost) -> None:
    host.start()
    host.validator.stacker_open = True
    assert host.poll() == [(STACKER_OPEN, b"")]
    assert host.send(RESET) == [(0x50, b"")]
    assert host.poll() == [(INITIALIZE, b"")]  # the host's cue to send its settings again
    assert host.poll() == [(STACKER_OPEN, b"")]
    host.validator.stacker_open = False
    assert host.poll() == [(IDLING, b"")]


def test_interrupt_mode_announces_every_status_change(host: CoreHost) -> None:
    host.start()
    assert host.send(frame(0xC2, b"\x01")) == [(0xC2, b"\x01")]
    assert host.tick() == []  # nothing changed since the host last looked
    host.validator.bills.append((1000, "genuine"))
    assert host.tick() == [(ENQ, b"")]  # drawn in without any poll
    assert host.poll() == [(ACCEPTING, b""), (ENQ, b"")]
    assert host.poll() == [(ESCROW, b"\x61")]  # unchanged until the host decides
    assert host.poll() == [(ESCROW, b"\x61")]
    assert host.send(STACK_1) == [(0x50, b""), (ENQ, b"")]
    assert host.poll() == [(STACKING, b""), (ENQ, b"")]
    assert host.poll() == [(VEND_VALID, b"")]
    assert host.send(ACK) == [(ENQ, b"")]
    assert host.poll() == [(STACKED, b""), (ENQ, b"")]
    assert host.poll() == [(IDLING, b"")]
    assert host.validator.stacked_total == 1000
    host.validator.jammed = True
    assert host.tick() == [(ENQ, b"")]
    assert host.poll() == [(ACCEPTOR_JAM, b"")]
    assert host.send(frame(0xC3, b"\x01")) == [(0xC3, b"\x01")]  # no change while jammed


def test_polling_mode_never_sends_enq(host: CoreHost) -> None:
    host.start()
    host.validator.bills.append((1000, "genuine"))
    assert host.tick() == []
    replies = [host.poll() for _ in range(3)]
    assert replies == [[(IDLING, b"")], [(ACCEPTING, b"")], [(ESCROW, b"\x61")]]


def test_noise_before_the_ack_of_vend_valid_loses_no_credit(host: CoreHost) -> None:
    host.start()
    host.validator.bills.append((1000, "genuine"))
    while host.poll() != [(ESCROW, b"\x61")]:
        pass
    host.send(STACK_1)
    assert host.poll() == [(STACKING, b"")]
    assert host.poll() == [(VEND_VALID, b"")]
    # Four noise bytes (a sync among them) straight before the ACK, no gap.
    assert host.send(b"\x12\xfc\x06\x33" + ACK, after=0.001) == []
    assert host.validator.stacked_total == 1000
    assert host.poll() == [(STACKED, b"")]
    assert host.poll() == [(IDLING, b"")]


# -- over a real pty ---------------------------------------------------------------------------


class PtyHost:
    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.fd, termios.TCSANOW)
        self.pending = b""

    def close(self) -> None:
        os.close(self.fd)

    def write(self, raw: bytes) -> None:
        os.write(self.fd, raw)

    def read_messages(self, count: int, timeout: float = 5.0) -> list[tuple[int, bytes]]:
        """Wait (generously: the simulator answers in microseconds) for ``count`` messages."""
        deadline = time.monotonic() + timeout
        while True:
            out, rest = [], self.pending
            while len(rest) >= 2 and len(rest) >= rest[1]:
                out.append(rest[: rest[1]])
                rest = rest[rest[1] :]
            if len(out) >= count:
                self.pending = b"".join(out[count:]) + rest
                return split(b"".join(out[:count]))
            left = deadline - time.monotonic()
            assert left > 0, f"no reply; have {self.pending.hex(' ')}"
            if select.select([self.fd], [], [], left)[0]:
                self.pending += os.read(self.fd, 4096)

    def exchange(self, raw: bytes, replies: int = 1) -> list[tuple[int, bytes]]:
        self.write(raw)
        return self.read_messages(replies)

    def resync(self) -> None:
        """After lost bytes (cut messages): ask for the version and skip everything up to a
        well-formed version reply, as a host recovering from a broken line does."""
        self.write(frame(0x88))
        raw = self.pending
        deadline = time.monotonic() + 5.0
        while True:
            for i in range(len(raw) - 4):
                length = raw[i + 1]
                msg = raw[i : i + length]
                if (
                    raw[i] == 0xFC
                    and raw[i + 2] == 0x88
                    and len(msg) == length >= 5
                    and kermit(msg[:-2]) == msg[-1] << 8 | msg[-2]
                ):
                    self.pending = raw[i + length :]
                    return
            assert time.monotonic() < deadline, "no version reply"
            if select.select([self.fd], [], [], 0.5)[0]:
                raw += os.read(self.fd, 65536)
            else:  # our request's answer fell off a full line too: ask again, as hosts do
                self.write(frame(0x88))


@pytest.fixture
def pty_host(sim: CashSim) -> Iterator[PtyHost]:
    h = PtyHost(sim.id003_path)
    yield h
    h.close()


def start_over_pty(host: PtyHost) -> None:
    assert host.exchange(STATUS_REQUEST) == [(POWER_UP, b"")]
    assert host.exchange(RESET) == [(0x50, b"")]
    assert host.exchange(STATUS_REQUEST) == [(INITIALIZE, b"")]
    table = host.exchange(frame(0x8A))[0]
    assert table[0] == 0x8A and len(table[1]) % 4 == 0
    assert host.exchange(frame(0x80)) == [(0x80, b"\xff\xff")]  # read back before enabling
    assert host.exchange(frame(0xC0, b"\x00\x00")) == [(0xC0, b"\x00\x00")]
    assert host.exchange(frame(0xC3, b"\x00")) == [(0xC3, b"\x00")]


def test_noise_on_the_wire_never_makes_the_validator_deaf(sim: CashSim, pty_host: PtyHost) -> None:
    start_over_pty(pty_host)
    for noise in (b"\xfc\xff", b"\xfc\x06", b"\x00\xfc", b"\x55\xaa\x11"):
        assert pty_host.exchange(noise + STATUS_REQUEST) == [(IDLING, b"")]
    bad = STATUS_REQUEST[:-1] + b"\x00"
    assert pty_host.exchange(bad) == [(COMMUNICATION_ERROR, b"")]
    assert pty_host.exchange(STATUS_REQUEST) == [(IDLING, b"")]
    assert sim.totals()["bills_in"] == 0


def test_an_interrupt_mode_host_that_polls_only_on_enq_gets_its_bill(
    sim: CashSim, pty_host: PtyHost
) -> None:
    start_over_pty(pty_host)
    assert pty_host.exchange(frame(0xC2, b"\x01")) == [(0xC2, b"\x01")]
    sim.insert_bill(1000)
    statuses: list[tuple[int, bytes]] = []
    decided = False
    while (STACKED, b"") not in statuses:
        msg = pty_host.read_messages(1)[0]  # the host only ever reacts to what arrives
        if msg == (ENQ, b""):
            pty_host.write(STATUS_REQUEST)
            continue
        if msg[0] == 0x50 or msg == (IDLING, b""):
            continue  # an ACK, or the idle status announced before the bill came
        if msg == (ESCROW, b"\x61") and not decided:
            pty_host.write(STACK_1)
            decided = True
        elif msg == (VEND_VALID, b""):
            pty_host.write(ACK)
        if not statuses or statuses[-1] != msg:
            statuses.append(msg)
    assert statuses == [
        (ACCEPTING, b""),
        (ESCROW, b"\x61"),
        (STACKING, b""),
        (VEND_VALID, b""),
        (STACKED, b""),
    ]
    assert sim.totals()["bills_in"] == 1000


def test_a_host_that_stops_reading_finds_the_validator_answering(
    sim: CashSim, pty_host: PtyHost
) -> None:
    start_over_pty(pty_host)
    # 60 KB of replies nobody reads: more than a pty holds.
    burst = STATUS_REQUEST * 12_000
    view = memoryview(burst)
    while view:
        select.select([], [pty_host.fd], [], 5.0)
        view = view[os.write(pty_host.fd, view[:4096]) :]
    deadline = time.monotonic() + 10
    while sim.dropped()["id003"] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sim.dropped()["id003"] > 0  # the wire lost what nobody read, as a cable does
    pty_host.resync()
    sim.insert_bill(1000)
    replies = [pty_host.exchange(STATUS_REQUEST)[0] for _ in range(3)]
    assert replies == [(IDLING, b""), (ACCEPTING, b""), (ESCROW, b"\x61")]
    assert sim.totals()["bills_in"] == 0  # nothing credited that the host did not stack
