"""The ccTalk simulator as a third-party host sees it: hand-written frames over the pty.

Nothing here uses our driver or codec. Frames are built as the ccTalk generic specification
describes them — ``[dest][data length][source][header][data…][checksum]``, every byte summing
to 0 mod 256 — with the specification's own example (serial number request ``02 00 01 F2 0B``)
checked first, and replies are taken apart byte by byte.
"""

from __future__ import annotations

import dataclasses
import json
import os
import select
import subprocess
import sys
import termios
import tty
from collections.abc import Iterator

import pytest

from drivers.coin.cctalk import Checksum
from sim.cash.cli import command
from sim.cash.server import CashSim

REPLY_WAIT_S = 2.0  # only bounds a failing test; nothing here measures speed


def frame(dest: int, source: int, header: int, data: bytes = b"") -> bytes:
    body = bytes([dest, len(data), source, header]) + data
    return body + bytes([(256 - sum(body) % 256) % 256])


def test_the_frame_helper_builds_the_specification_example() -> None:
    assert frame(2, 1, 242) == bytes.fromhex("02 00 01 F2 0B")


class Host:
    """A raw UART on the pty: what it writes comes back first (the single-wire echo)."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.fd, termios.TCSANOW)

    def close(self) -> None:
        os.close(self.fd)

    def read_exactly(self, n: int) -> bytes:
        got = b""
        while len(got) < n:
            ready, _, _ = select.select([self.fd], [], [], REPLY_WAIT_S)
            if not ready:
                break
            got += os.read(self.fd, n - len(got))
        return got

    def quiet(self, wait_s: float = 0.15) -> bytes:
        """Whatever else arrives within ``wait_s`` (used to show that nothing does)."""
        got = b""
        while select.select([self.fd], [], [], wait_s)[0]:
            got += os.read(self.fd, 4096)
        return got

    def ask(self, request: bytes) -> tuple[int, int, int, bytes]:
        """(dest, source, header, data) of the reply; asserts the echo and the checksum."""
        os.write(self.fd, request)
        assert self.read_exactly(len(request)) == request  # the echo of our own bytes
        head = self.read_exactly(2)
        assert len(head) == 2, f"no reply to {request.hex(' ')}"
        rest = self.read_exactly(head[1] + 3)
        raw = head + rest
        assert len(raw) == head[1] + 5 and sum(raw) % 256 == 0, raw.hex(" ")
        return raw[0], raw[2], raw[3], raw[4:-1]


@pytest.fixture
def sim() -> Iterator[CashSim]:
    s = CashSim()
    with s:
        yield s


@pytest.fixture
def host(sim: CashSim) -> Iterator[Host]:
    h = Host(sim.cctalk_path)
    yield h
    h.close()


def ack(host: Host, dest: int, header: int, data: bytes = b"") -> bytes:
    reply_dest, source, reply_header, reply_data = host.ask(frame(dest, 1, header, data))
    assert (reply_dest, source, reply_header) == (1, dest, 0)
    return reply_data


# -- every mandatory header answers ----------------------------------------------------------
ASCII = "ascii"
ACCEPTOR_HEADERS = [
    (254, b"", b""),  # simple poll: ACK, no data
    (246, b"", b"MCI"),  # manufacturer: the specification's standard string for Money Controls
    (245, b"", b"Coin Acceptor"),  # equipment category: the specification's exact name
    (244, b"", b"SR5"),
    (192, b"", b"STD"),  # build code
    (242, b"", 3),  # serial number: 3 bytes, LSB first
    (241, b"", ASCII),  # software revision
    (4, b"", 3),  # comms revision: release, major, minor
    (243, b"", 1),  # database version
    (249, b"", 2),  # polling priority: units, value
    (248, b"", 1),  # status
    (232, b"", b"\x00"),  # self-check: fault code 0
    (230, b"", 2),  # inhibit status
    (227, b"", 1),  # master inhibit status
    (229, b"", 11),  # buffered credits: counter + 5 events
    (184, b"\x01", b"JP010A"),  # coin id of position 1
]
HOPPER_HEADERS = [
    (254, b"", b""),
    (246, b"", b"MCI"),
    (245, b"", b"Payout"),
    (244, b"", b"SCH2"),
    (192, b"", b"STD"),
    (242, b"", 3),
    (241, b"", ASCII),
    (4, b"", 3),
    (166, b"", 4),  # status: event counter, remaining, paid, unpaid
    (163, b"", 2),  # test hopper: status registers
    (168, b"", 3),  # dispense count
    (217, b"", 1),  # payout high/low status
    (164, b"\xa5", b""),  # enable
    (1, b"", b""),  # reset device: ACK first
]


def check(reply: bytes, expected: bytes | int | str) -> None:
    if isinstance(expected, bytes):
        assert reply == expected
    elif isinstance(expected, int):
        assert len(reply) == expected
    else:
        assert reply and reply.decode(ASCII).isprintable()


@pytest.mark.parametrize(("header", "data", "expected"), ACCEPTOR_HEADERS)
def test_coin_acceptor_answers_each_mandatory_header(
    host: Host, header: int, data: bytes, expected: bytes | int | str
) -> None:
    check(ack(host, 2, header, data), expected)


@pytest.mark.parametrize(("header", "data", "expected"), HOPPER_HEADERS)
@pytest.mark.parametrize("address", [3, 4])
def test_each_hopper_answers_each_mandatory_header(
    host: Host, address: int, header: int, data: bytes, expected: bytes | int | str
) -> None:
    check(ack(host, address, header, data), expected)


def test_comms_revision_is_a_release_and_a_specification_version(host: Host) -> None:
    release, major, minor = ack(host, 2, 4)
    assert release >= 1 and (major, minor) >= (4, 0)


def test_an_unsupported_header_gets_no_reply_at_all(host: Host) -> None:
    request = frame(2, 1, 99)
    os.write(host.fd, request)
    assert host.quiet() == request  # the echo, and nothing after it


def test_a_bad_checksum_gets_no_reply_and_the_next_request_does(host: Host) -> None:
    bad = bytearray(frame(2, 1, 254))
    bad[-1] ^= 0x01
    os.write(host.fd, bytes(bad))
    assert host.quiet() == bytes(bad)
    assert ack(host, 2, 254) == b""


# -- a host sees a hopper reset through 163 --------------------------------------------------
POWER_UP, DISABLED = 0x40, 0x80  # register 1, bits 6 and 7 (the specification's hopper flags)


def test_hopper_163_shows_power_up_and_disabled_then_a_software_reset(
    sim: CashSim, host: Host
) -> None:
    registers = ack(host, 3, 163)
    assert len(registers) >= 2
    assert registers[0] & (POWER_UP | DISABLED) == POWER_UP | DISABLED  # fresh from power-up
    ack(host, 3, 164, b"\xa5")
    assert ack(host, 3, 163)[0] & (POWER_UP | DISABLED) == POWER_UP  # enabled, still "powered"
    ack(host, 3, 1)  # software reset: clears power-up, disables
    assert ack(host, 3, 163)[0] & (POWER_UP | DISABLED) == DISABLED
    ack(host, 3, 164, b"\xa5")
    assert ack(host, 3, 163)[0] & (POWER_UP | DISABLED) == 0
    sim.hoppers[3].powered = False
    sim.hopper_power_on(3)  # a power cycle the host did not ask for: it shows
    assert ack(host, 3, 163)[0] & (POWER_UP | DISABLED) == POWER_UP | DISABLED


def test_hopper_163_reports_power_lost_during_a_payout(sim: CashSim, host: Host) -> None:
    ack(host, 3, 164, b"\xa5")
    serial = ack(host, 3, 242)
    sim.hopper_power_cut_after(3, 2)
    ack(host, 3, 167, serial + b"\x05")
    for _ in range(3):
        os.write(host.fd, frame(3, 1, 166))
        host.quiet(0.05)
    sim.hopper_power_on(3)
    registers = ack(host, 3, 163)
    assert registers[0] & POWER_UP
    sim.hoppers[3].model = dataclasses.replace(sim.hoppers[3].model, test_registers=3)
    assert ack(host, 3, 163)[2] & 0x01  # register 3 bit 0: power down during payout


# -- replies go to whoever asked ---------------------------------------------------------------
@pytest.mark.parametrize("source", [1, 7, 200])
@pytest.mark.parametrize("dest", [2, 3])
def test_the_reply_goes_to_the_request_source(host: Host, source: int, dest: int) -> None:
    assert host.ask(frame(dest, source, 254)) == (source, dest, 0, b"")


def test_the_crc16_variant_answers_address_1() -> None:
    # [dest][n][CRC lo][header][CRC hi], CRC-16/CCITT over dest, n, header: the reference
    # vector CRC(40, 0, 1) = 0x3F46, here for simple poll to the acceptor, computed by hand.
    def crc(data: bytes) -> int:
        value = 0
        for byte in data:
            value ^= byte << 8
            for _ in range(8):
                value = ((value << 1) ^ 0x1021) & 0xFFFF if value & 0x8000 else value << 1
        return value & 0xFFFF

    assert crc(bytes([40, 0, 1])) == 0x3F46
    with CashSim(checksum=Checksum.CRC16) as s:
        bus = s.bus
        c = crc(bytes([2, 0, 254]))
        request = bytes([2, 0, c & 0xFF, 254, c >> 8])
        out = bus.receive(request, 0.0)
    assert out[: len(request)] == request
    reply = out[len(request) :]
    r = crc(bytes([reply[0], reply[1], reply[3]]))
    assert reply == bytes([1, 0, r & 0xFF, 0, r >> 8])


# -- the 2021 500-yen coin ---------------------------------------------------------------------
def test_coin_500_is_the_2021_coin_and_500old_the_one_before(sim: CashSim, host: Host) -> None:
    ack(host, 2, 231, b"\xff\xff")  # every coin enabled
    ack(host, 2, 228, b"\x01")
    counter = ack(host, 2, 229)[0]
    assert command(sim, "coin 500") == {"taken": True, "issue": sim.acceptor.issues_of(500)[-1]}
    assert command(sim, "coin 500old")["taken"]  # type: ignore[index]
    events = ack(host, 2, 229)
    assert events[0] == counter + 2
    old_position, new_position = events[1], events[3]  # newest first
    new_id = ack(host, 2, 184, bytes([new_position])).decode()
    old_id = ack(host, 2, 184, bytes([old_position])).decode()
    assert new_id[:5] == old_id[:5] == "JP500" and new_id != old_id
    assert new_position > old_position  # the later entry of the acceptor's coin table


def test_kofu_sim_cash_takes_both_500_yen_coins() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from host.cli import main; raise SystemExit(main(['sim', 'cash']))",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        json.loads(proc.stdout.readline())
        proc.stdin.write("coin 500\ncoin 500old\ncoin 500new\ncoin 5\nquit\n")
        proc.stdin.flush()
        replies = [json.loads(proc.stdout.readline()) for _ in range(4)]
        issues = [r["issue"] for r in replies]
        assert issues[0] == issues[2] != issues[1] and issues[3] is None
        assert not any(r["taken"] for r in replies)  # nothing enabled yet: inhibited
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# -- hostile input, sans-IO on the bus model with the arrival times given ----------------------
def test_noise_then_a_gap_loses_nothing_and_credits_nothing() -> None:
    with CashSim() as s:
        bus = s.bus
        before = s.acceptor.counter
        request = frame(2, 1, 229)
        # A corrupted length byte claims more bytes than will come; the slave waits, then the
        # 50 ms gap discards it and the host's retry is answered.
        out = bus.receive(b"\x55\x02\xff\x10" + request, 0.0)
        assert out == b"\x55\x02\xff\x10" + request  # only the echo
        out = bus.receive(request, 0.2)
        assert out[len(request) :][3] == 0  # ACK
        assert s.acceptor.counter == before


@pytest.mark.parametrize(("model", "counted"), [("sch2", False), ("sch2-counting-refusals", True)])
def test_whether_a_refused_dispense_counts_is_the_models_choice(
    sim: CashSim, host: Host, model: str, counted: bool
) -> None:
    assert command(sim, f"hopper-model 3 {model}") == {"ok": True}
    ack(host, 3, 164, b"\xa5")
    counter, _, paid, unpaid = ack(host, 3, 166)
    dest, source, header, data = host.ask(frame(3, 1, 167, b"\x99\x99\x99\x02"))  # bad serial
    assert (dest, source, header, data) == (1, 3, 5, b"")  # NAK: refused
    after = ack(host, 3, 166)
    assert (after[0] != counter) is counted
    assert (after[2], after[3]) == (paid, unpaid)  # the figures are not a new payout's
