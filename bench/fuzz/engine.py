"""The fuzzing loop: seeded random and mutated inputs through one decoder, counting crashes
(any exception but the decoder's documented error) and hangs (an input that costs more CPU
than `hang_s`), keeping the inputs that caused them.

Inputs follow from the seed alone: one seed, one sequence of inputs, one verdict.
"""

from __future__ import annotations

import hashlib
import random
import signal
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

# Bytes that sit on the edges of length, tag and sync fields in the decoders we feed.
INTERESTING = bytes((0x00, 0x01, 0x02, 0x04, 0x05, 0x7F, 0x80, 0x81, 0x82, 0x83, 0xFC, 0xFD,
                     0xFE, 0xFF, 0x30, 0x34, 0x37, 0x4A, 0x03, 0x10))  # fmt: skip
INTERESTING_16 = (0x0000, 0x0001, 0x007F, 0x0080, 0x00FF, 0x0100, 0x7FFF, 0x8000, 0xFFFF)
KEEP_PER_SIGNATURE = 3  # inputs saved for each distinct crash site


class Inconsistent(AssertionError):
    """The decoder returned something it must not: a frame its own encoder refuses or writes
    differently, a forged payload judged VALID, a frame that was never on the wire."""


class Hang(BaseException):
    """Raised into the decoder by the CPU timer; BaseException so no `except Exception` in the
    decoder swallows it."""


@dataclass(frozen=True)
class Target:
    """One decoder under fuzz. ``run`` decodes one input and raises only ``errors`` (the
    decoder's documented error) or, when an oracle check fails, `Inconsistent`."""

    name: str
    run: Callable[[bytes], object]
    errors: tuple[type[BaseException], ...]
    samples: Callable[[], Sequence[bytes]]
    inputs: int = 1_000_000
    max_len: int = 600
    doc: str = ""


@dataclass
class Finding:
    kind: str  # "crash" or "hang"
    signature: str  # exception type and where it was raised
    data: bytes


@dataclass
class Result:
    target: str
    inputs: int = 0
    crashes: int = 0
    hangs: int = 0
    slowest_s: float = 0.0  # CPU of the costliest input that finished: a cost, not a hang
    signatures: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    saved: list[str] = field(default_factory=list)

    def line(self, seed: int, cpu_s: float) -> dict[str, object]:
        return {
            "fuzz": self.target, "inputs": self.inputs, "crashes": self.crashes,
            "hangs": self.hangs, "seed": seed, "cpu_s": round(cpu_s, 1),
            "slowest_ms": round(self.slowest_s * 1000, 2),
            "signatures": self.signatures, "saved": self.saved,
        }  # fmt: skip


def signature(exc: BaseException) -> str:
    """Exception type and the innermost frame of our own code that raised it."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/site-packages/" not in f.filename] or frames
    where = f"{Path(ours[-1].filename).name}:{ours[-1].lineno}" if ours else "?"
    return f"{type(exc).__name__}@{where}"


class Generator:
    """Random inputs and mutations of the valid samples, from one seeded RNG."""

    def __init__(self, seed: int, samples: Sequence[bytes], max_len: int) -> None:
        self.rng = random.Random(seed)
        self.samples = [s[:max_len] for s in samples] or [b""]
        self.max_len = max_len

    def next(self) -> bytes:
        rng = self.rng
        if rng.random() < 0.2:
            return self._random()
        data = bytearray(rng.choice(self.samples))
        rounds = rng.randint(1, 4) if rng.random() < 0.9 else rng.randint(5, 16)
        for _ in range(rounds):
            self._mutate(data)
        return bytes(data[: self.max_len])

    def _random(self) -> bytes:
        rng = self.rng
        n = rng.choice((rng.randint(0, 8), rng.randint(0, 64), rng.randint(0, self.max_len)))
        return rng.randbytes(n)

    def _mutate(self, data: bytearray) -> None:
        rng = self.rng
        n = len(data)
        op = rng.randrange(12)
        if n == 0 or op == 0:  # insert random bytes
            at = rng.randint(0, n)
            data[at:at] = rng.randbytes(rng.randint(1, 8))
        elif op == 1:  # flip one bit
            data[rng.randrange(n)] ^= 1 << rng.randrange(8)
        elif op == 2:  # a random byte
            data[rng.randrange(n)] = rng.randrange(256)
        elif op == 3:  # an edge-of-field byte
            data[rng.randrange(n)] = rng.choice(INTERESTING)
        elif op == 4:  # delete a range
            at = rng.randrange(n)
            del data[at : at + rng.randint(1, max(1, n // 4))]
        elif op == 5:  # duplicate a range elsewhere
            at = rng.randrange(n)
            chunk = data[at : at + rng.randint(1, 32)]
            to = rng.randint(0, n)
            data[to:to] = chunk
        elif op == 6:  # truncate
            del data[rng.randint(0, n - 1) :]
        elif op == 7:  # splice with another sample
            other = rng.choice(self.samples)
            cut = rng.randint(0, n)
            data[cut:] = other[rng.randint(0, len(other)) :]
        elif op == 8 and n >= 2:  # an edge-of-field 16-bit value, either byte order
            at = rng.randrange(n - 1)
            value = rng.choice((*INTERESTING_16, n, n - 1, n + 1))
            data[at : at + 2] = (value & 0xFFFF).to_bytes(2, rng.choice(("big", "little")))
        elif op == 9:  # a run of one byte (a babbling line, a stream of sync bytes)
            at = rng.randint(0, n)
            data[at:at] = bytes([rng.choice(INTERESTING)]) * rng.randint(2, self.max_len)
        elif op == 10:  # repeat a slice many times (deep nesting, a flood of one frame)
            at = rng.randrange(n)
            chunk = data[at : at + rng.randint(2, 32)]
            data[at:at] = chunk * rng.randint(2, max(2, self.max_len // len(chunk)))
        else:  # swap two bytes
            i, j = rng.randrange(n), rng.randrange(n)
            data[i], data[j] = data[j], data[i]
        if len(data) > self.max_len:
            del data[self.max_len :]


def _on_timer(signum: int, frame: FrameType | None) -> None:
    raise Hang()


def fuzz(target: Target, inputs: int, seed: int, hang_s: float = 1.0) -> Result:
    """Run ``inputs`` generated inputs through ``target`` (main thread only: the hang timer
    is a CPU-time signal)."""
    result = Result(target.name)
    gen = Generator(seed, target.samples(), target.max_len)
    previous = signal.signal(signal.SIGPROF, _on_timer)
    try:
        for _ in range(inputs):
            data = gen.next()
            result.inputs += 1
            started = time.process_time()
            try:
                signal.setitimer(signal.ITIMER_PROF, hang_s)
                try:
                    target.run(data)
                finally:
                    signal.setitimer(signal.ITIMER_PROF, 0)
                    result.slowest_s = max(result.slowest_s, time.process_time() - started)
            except target.errors:
                continue
            except Hang:
                result.hangs += 1
                _keep(result, Finding("hang", "hang", data))
            except Exception as exc:
                result.crashes += 1
                _keep(result, Finding("crash", signature(exc), data))
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)
    return result


def _keep(result: Result, finding: Finding) -> None:
    seen = result.signatures.get(finding.signature, 0)
    result.signatures[finding.signature] = seen + 1
    if seen < KEEP_PER_SIGNATURE:
        result.findings.append(finding)


def save(result: Result, corpus: Path) -> None:
    """Write each kept finding to ``corpus/<target>/<kind>-<sha1>.bin``: the regression tests
    replay every file there."""
    folder = corpus / result.target
    for finding in result.findings:
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{finding.kind}-{hashlib.sha1(finding.data).hexdigest()[:12]}.bin"
        (folder / name).write_bytes(finding.data)
        result.saved.append(f"{result.target}/{name}")
