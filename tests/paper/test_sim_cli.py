"""`kofu sim printer` starts both simulated printers, announces them, and cleans up."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from drivers.printer.a4 import IppA4Printer
from drivers.printer.receipt import EscposReceiptPrinter, ReceiptStatus
from drivers.printer.states import PrinterState

pytestmark = pytest.mark.needs_root


def test_sim_printer_command(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from host.cli import main; sys.exit(main())",
         "sim", "printer", "--state", str(tmp_path), "--escpos-port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        a4 = IppA4Printer(info["a4_uri"])
        assert a4.condition().state is PrinterState.READY
        a4.close()
        receipt = EscposReceiptPrinter({"connection": "network", **info["receipt"]})
        assert receipt.status() is ReceiptStatus.READY
        receipt.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    assert IppA4Printer(info["a4_uri"]).condition().state is PrinterState.OFFLINE
