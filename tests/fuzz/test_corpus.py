"""The decoder fuzzers (`make fuzz`, `python -m bench.fuzz`): every input they ever found
crashing, replayed through its decoder (only the documented error may come out), and the
fuzzing loop itself: seeded, and it does count crashes and hangs."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from bench.fuzz import engine
from bench.fuzz.targets import all_targets, by_name

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).parent / "corpus"
TARGETS = by_name()
CASES = sorted(p.relative_to(CORPUS).as_posix() for p in CORPUS.glob("*/*.bin"))


def test_the_corpus_names_only_known_targets() -> None:
    assert CASES, "the corpus is empty"
    assert {case.split("/")[0] for case in CASES} <= set(TARGETS)


@pytest.mark.parametrize("case", CASES)
def test_a_once_crashing_input_gives_only_the_documented_error(case: str) -> None:
    target = TARGETS[case.split("/")[0]]
    try:
        target.run((CORPUS / case).read_bytes())
    except target.errors:
        pass


def test_a_link_frame_one_byte_over_the_payload_limit_is_refused() -> None:
    """SPEC: a frame body is at most MAX_PAYLOAD bytes (the fuzzer found 201 accepted)."""
    from protocol import link_frame as lf

    for kind in (lf.KIND_HELLO, lf.KIND_REFUSE):
        covered = bytes([lf.PROTOCOL_VERSION, kind]) + b"\x04" * (lf.MAX_PAYLOAD + 1)
        with pytest.raises(lf.DecodeError):
            lf.unpack_frame(covered + struct.pack("<I", lf.crc32(covered)))


@pytest.mark.parametrize("target", [t.name for t in all_targets()])
def test_every_target_runs_its_samples_and_a_few_mutants_clean(target: str) -> None:
    result = engine.fuzz(TARGETS[target], 200, seed=19)
    assert result.inputs == 200
    assert (result.crashes, result.hangs) == (0, 0), result.signatures


def test_one_seed_gives_one_sequence_of_inputs() -> None:
    samples = [b"\x02\x00\x01\xfe\xff", bytes(range(40))]
    first = engine.Generator(7, samples, 300)
    again = engine.Generator(7, samples, 300)
    other = engine.Generator(8, samples, 300)
    a = [first.next() for _ in range(500)]
    assert a == [again.next() for _ in range(500)]
    assert a != [other.next() for _ in range(500)]
    assert all(len(x) <= 300 for x in a) and len(set(a)) > 400


def _decoder(data: bytes) -> None:
    if data[:1] == b"\x02":
        raise KeyError("an undocumented error")
    if data[:1] == b"\x03":
        while True:  # an input the decoder never finishes
            pass
    raise ValueError("documented")


def test_crashes_and_hangs_are_counted_and_kept(tmp_path: Path) -> None:
    target = engine.Target("toy", _decoder, (ValueError,), lambda: [b"\x01\x00"], max_len=4)
    result = engine.fuzz(target, 3000, seed=1, hang_s=0.02)
    assert result.crashes > 0 and result.hangs > 0
    crash_sites = {sig.split(":")[0] for sig in result.signatures}
    assert crash_sites == {"KeyError@test_corpus.py", "hang"}
    engine.save(result, tmp_path)
    kept = sorted(p.name.split("-")[0] for p in (tmp_path / "toy").iterdir())
    assert kept.count("crash") == engine.KEEP_PER_SIGNATURE
    assert kept.count("hang") == engine.KEEP_PER_SIGNATURE


def test_make_fuzz_prints_one_json_line_per_target() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.fuzz", "--inputs", "300", "--seed", "3", "--no-save",
         "--target", "cctalk_frame", "--target", "nfc_der"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["fuzz"] for line in lines] == ["cctalk_frame", "nfc_der"]
    for line in lines:
        assert (line["inputs"], line["crashes"], line["hangs"], line["seed"]) == (300, 0, 0, 3)
