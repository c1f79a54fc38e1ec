"""The codec under CPython against protocol/vectors.json (tools/mp_vectors.mjs runs the same
check under MicroPython), and vectors.json is what the codec produces today."""

from __future__ import annotations

import json
from pathlib import Path

from protocol import link_frame as lf
from protocol import make_vectors, vector_check

VECTORS = Path(lf.__file__).with_name("vectors.json")


def test_codec_matches_every_vector() -> None:
    vectors = json.loads(VECTORS.read_text())
    assert vector_check.count(vectors) > 40
    assert vector_check.check(vectors) == []


def test_vectors_file_is_current() -> None:
    # a wire-format change must show up as a diff of vectors.json (and a version bump)
    assert VECTORS.read_text() == make_vectors.render()


def test_checker_catches_a_wrong_vector() -> None:
    vectors = json.loads(VECTORS.read_text())
    vectors["frames"][0]["wire"] = "00ff" + vectors["frames"][0]["wire"][4:]
    assert any("frame data coin" in line for line in vector_check.check(vectors))


def test_software_crc_matches_binascii() -> None:
    for data in (b"", b"123456789", bytes(range(256)) * 3):
        assert lf.crc32_soft(data) == lf.crc32(data)
    assert lf.crc32(b"123456789") == 0xCBF43926
