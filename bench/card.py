"""`kofu bench card`: the card path's cost, on the virtual card behind the real pcscd.

- `apdus`: command APDUs of one kiosk session (select, read certificate, tries, verify,
  sign, logout).
- `host_ms`: that session's wall time minus the modelled card time (latency model on),
  i.e. what the host, pcscd and the transport add; median of runs.
- `opensc_read_ms` / `kofu_read_ms`: reading the user-authentication certificate from the
  same virtual card with zero card latency, by OpenSC (`pkcs15-tool --read-certificate`, a
  process per read as a user runs it) and by our driver (connect, select, read, release);
  medians. `kofu_read_process_ms` is our read in a fresh process too, for a like-for-like view.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from drivers.nfc import JpkiReader, Pin, ReaderConfig
from sim.card.harness import place_and_wait, reader_name, reader_pattern, virtual_card_on_pcscd
from sim.card.virtual import Latency, VirtualCard

PIN = "1234"

_READ_SNIPPET = """
import sys, time
t = time.perf_counter()
from drivers.nfc import JpkiReader, ReaderConfig
with JpkiReader(ReaderConfig(reader=sys.argv[1])) as r:
    with r.session() as s:
        cert = s.read_certificate()
print(len(cert), (time.perf_counter() - t) * 1000)
"""


def _session(card: VirtualCard, reader: JpkiReader) -> tuple[int, float, float]:
    """(apdus, wall ms, modelled card ms) of one full kiosk session."""
    modelled, answered = card.stats.modelled_s, card.stats.apdus
    started = time.perf_counter()
    with reader.session() as s:
        s.authenticate(Pin(PIN), os.urandom(32))
    wall = time.perf_counter() - started
    return card.stats.apdus - answered, wall * 1000, (card.stats.modelled_s - modelled) * 1000


def run(args: argparse.Namespace) -> dict[str, object]:
    state = Path(args.state) if args.state else Path(tempfile.mkdtemp(prefix="kofu-bench-card-"))
    result: dict[str, object] = {"runs": args.runs}
    with virtual_card_on_pcscd(state, slot=args.slot, latency=Latency(), pin=PIN) as card:
        reader = JpkiReader(ReaderConfig(reader=reader_pattern(args.slot)))
        place_and_wait(card, reader, "valid")
        card.restore_personas()
        _session(card, reader)  # warm-up (keys loaded, pcscd connection made)
        host, total, model = [], [], []
        apdus = 0
        for _ in range(args.runs):
            apdus, wall, modelled = _session(card, reader)
            total.append(wall)
            model.append(modelled)
            host.append(wall - modelled)
        result.update(
            apdus=apdus,
            host_ms=round(statistics.median(host), 2),
            session_ms=round(statistics.median(total), 2),
            card_model_ms=round(statistics.median(model), 2),
        )
        card.latency = Latency.zero()
        kofu = []
        for _ in range(args.runs):
            started = time.perf_counter()
            with reader.session() as s:
                cert = s.read_certificate()
            kofu.append((time.perf_counter() - started) * 1000)
        result["kofu_read_ms"] = round(statistics.median(kofu), 2)
        result["cert_bytes"] = len(cert)
        proc_ms = []
        for _ in range(args.runs):
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-c", _READ_SNIPPET, reader_pattern(args.slot)],
                check=True,
                capture_output=True,
            )
            proc_ms.append((time.perf_counter() - started) * 1000)
        result["kofu_read_process_ms"] = round(statistics.median(proc_ms), 2)
        if shutil.which("pkcs15-tool"):
            opensc = []
            for _ in range(args.runs):
                started = time.perf_counter()
                done = subprocess.run(
                    ["pkcs15-tool", "--reader", reader_name(args.slot), "--read-certificate", "01"],
                    capture_output=True,
                    text=True,
                    stdin=subprocess.DEVNULL,
                )
                opensc.append((time.perf_counter() - started) * 1000)
                if done.returncode != 0:
                    raise RuntimeError(f"pkcs15-tool failed: {done.stderr.strip()}")
            result["opensc_read_ms"] = round(statistics.median(opensc), 2)
            result["opensc_over_kofu"] = round(
                statistics.median(opensc) / statistics.median(kofu), 1
            )
            result["opensc_over_kofu_process"] = round(
                statistics.median(opensc) / statistics.median(proc_ms), 2
            )
        else:
            result["opensc_read_ms"] = None
        card.restore_personas()
    if not args.state:
        shutil.rmtree(state, ignore_errors=True)
    return result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="kofu bench card", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--slot", type=int, default=1, choices=(0, 1))
    parser.add_argument("--state", help="state directory (default: a temporary one)")
    args = parser.parse_args(argv)
    print(json.dumps(run(args)))
    return 0
