"""`kofu sim cash` as two hosts see it: a host that stops reading the validator's pty stalls
neither the coin acceptor nor the simulator's CPU; what the full pty cannot take is dropped
like a wire's unread bytes, and counted. Frames are hand-written from the public documents
(ccTalk generic specification, JCM ID-003), not built by our drivers."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import termios
import time
import tty
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sim.cash.pty_bus import Pty

ROOT = Path(__file__).resolve().parents[2]
SSR = bytes.fromhex("FC051127 56".replace(" ", ""))  # ID-003 status request, CRC-KERMIT 5627
SIMPLE_POLL = bytes.fromhex("020001FEFF")  # ccTalk: to 2, no data, from 1, header 254, sum 0
ACK_FROM_2 = bytes.fromhex("01000200FD")  # to 1, no data, from 2, header 0 (ACK)
REPLY_WAIT_S = 5.0  # only bounds a failing run; nothing here depends on speed


def crc_kermit(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc


@dataclass
class SimProcess:
    proc: subprocess.Popen[str]
    paths: dict[str, str]

    def ask(self, line: str) -> object:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def cpu_s(self) -> float:
        """User + system CPU time of the simulator process so far (/proc, not wall clock)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.fixture
def cash_sim() -> Iterator[SimProcess]:
    run = "from host.cli import main; raise SystemExit(main(['sim', 'cash']))"
    proc = subprocess.Popen(
        [sys.executable, "-c", run], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        yield SimProcess(proc, json.loads(proc.stdout.readline()))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def open_port(path: str) -> int:
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    tty.setraw(fd, termios.TCSANOW)
    return fd


def read_exactly(fd: int, n: int) -> bytes:
    out = b""
    deadline = time.monotonic() + REPLY_WAIT_S
    while len(out) < n:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            break
        out += os.read(fd, n - len(out))
    return out


def write_all(fd: int, data: bytes) -> None:
    """Write as a host does: when the simulator is behind in reading, wait for it."""
    view = memoryview(data)
    deadline = time.monotonic() + REPLY_WAIT_S
    while view:
        left = deadline - time.monotonic()
        assert left > 0, "the simulator stopped reading what the host writes"
        if select.select([], [fd], [], left)[1]:
            try:
                view = view[os.write(fd, view) :]
            except BlockingIOError:
                pass


def drain(fd: int) -> int:
    total = 0
    while select.select([fd], [], [], 0.05)[0]:
        total += len(os.read(fd, 65536))
    return total


def fill_without_reading(sim: SimProcess, fd: int) -> int:
    """Status requests, never reading a reply, until the simulator reports dropped bytes."""
    for _ in range(400):
        write_all(fd, SSR * 200)
        dropped = sim.ask("dropped")
        assert isinstance(dropped, dict)
        if dropped["id003"] > 0:
            return int(dropped["id003"])
    raise AssertionError("the validator's pty never filled")


def poll_coin_acceptor(fd: int) -> bytes:
    os.write(fd, SIMPLE_POLL)
    return read_exactly(fd, 10)  # the echo of the single wire, then the reply


def test_a_host_that_stops_reading_the_validator_stalls_nothing_else(
    cash_sim: SimProcess,
) -> None:
    validator = open_port(cash_sim.paths["id003"])
    acceptor = open_port(cash_sim.paths["cctalk"])
    try:
        assert poll_coin_acceptor(acceptor) == SIMPLE_POLL + ACK_FROM_2
        assert fill_without_reading(cash_sim, validator) > 0

        cpu_before = cash_sim.cpu_s()
        for _ in range(20):
            write_all(validator, SSR * 10)  # the stuck host keeps asking, never reading
            assert poll_coin_acceptor(acceptor) == SIMPLE_POLL + ACK_FROM_2
        time.sleep(1.0)  # an idle second: a simulator spinning on the full pty burns it all
        cpu_used = cash_sim.cpu_s() - cpu_before
        assert cpu_used < 0.25, f"simulator used {cpu_used:.2f} s of CPU beside a full pty"

        dropped = cash_sim.ask("dropped")
        assert isinstance(dropped, dict) and dropped["cctalk"] == 0

        # The host reads again: past the bytes the full pty kept, the validator answers.
        assert drain(validator) > 0
        os.write(validator, SSR)
        head = read_exactly(validator, 2)
        assert head[:1] == b"\xfc" and len(head) == 2
        reply = head + read_exactly(validator, head[1] - 2)
        assert len(reply) == head[1]
        assert crc_kermit(reply[:-2]) == int.from_bytes(reply[-2:], "little")
    finally:
        os.close(validator)
        os.close(acceptor)


def test_a_full_pty_drops_and_counts_instead_of_waiting() -> None:
    pty = Pty()
    try:
        # Nobody opened the host side, so nobody reads: write until a write takes nothing.
        # (The kernel may still move bytes along its tty buffers between two writes, so a
        # write after a short one can take a little more: only a write that took nothing
        # shows the line full, and every byte offered is either written or counted dropped.)
        offered = written = 0
        while True:
            n = pty.write(b"\x55" * 4096)
            offered += 4096
            written += n
            assert pty.dropped == offered - written  # never waits, never loses count
            if n == 0:
                break
        assert written > 0 and pty.dropped >= 4096
    finally:
        pty.close()
