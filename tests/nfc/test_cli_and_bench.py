"""`kofu sim card` and `kofu bench card` as a user runs them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509

from drivers.nfc import JpkiReader, NotMyNumberCard
from sim.card.harness import TEST_SLOT

pytestmark = pytest.mark.needs_root

KOFU = [sys.executable, "-c", "import sys; from host.cli import main; sys.exit(main())"]


def _kofu(*args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*KOFU, *args], capture_output=True, text=True, timeout=120, **kw)  # type: ignore[call-overload,no-any-return]


def test_export_certificate_and_list(tmp_path: Path) -> None:
    listed = _kofu("sim", "card", "--list")
    assert listed.returncode == 0 and "revoked" in listed.stdout
    pem = _kofu("sim", "card", "--state", str(tmp_path), "--export-cert", "valid")
    assert pem.returncode == 0, pem.stderr
    x509.load_pem_x509_certificate(pem.stdout.encode())
    assert (tmp_path / "jpki" / "ca-cert.pem").exists() and (tmp_path / "jpki" / "crl.pem").exists()
    bad = _kofu("sim", "card", "--state", str(tmp_path), "--export-cert", "no-cert")
    assert bad.returncode == 2 and "no user-authentication certificate" in bad.stderr


def test_sim_card_runs_until_stopped(pcscd: None, tmp_path: Path, reader: JpkiReader) -> None:
    proc = subprocess.Popen(
        [
            *KOFU,
            "sim",
            "card",
            "--state",
            str(tmp_path),
            "--slot",
            str(TEST_SLOT),
            "--persona",
            "not-jpki",
            "--no-latency",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "virtual card 'not-jpki'" in line, line + proc.stderr.read() if proc.stderr else ""
        assert reader.wait_for_card(10.0)
        with pytest.raises(NotMyNumberCard):
            with reader.session():
                pass
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    assert reader.wait_for_removal(5.0)


def test_bench_card_prints_the_figures(pcscd: None) -> None:
    done = _kofu("bench", "card", "--runs", "1", env={**os.environ})
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["apdus"] == 13
    for key in ("host_ms", "kofu_read_ms", "opensc_read_ms", "opensc_over_kofu"):
        assert figures[key] > 0
