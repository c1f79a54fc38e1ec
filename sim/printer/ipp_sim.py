"""The simulated A4 printer: CUPS' ippeveprinter (IPP Everywhere), duplex, PDF only.

It runs on an ephemeral port with our engine script (:mod:`sim.printer.ipp_command`) as its
print command, so jobs report printed sides, faults are scripted, and printed PDFs land in
``<state>/printed``. A fault (paper out, jam, ...) latches in ippeveprinter as it would in
a real printer; :meth:`IppPrinterSim.service` is the clerk fixing it (a restart of the
printer on the same port: same URI, job ids start again).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx

from sim.printer import daemons
from sim.printer.ipp_command import FAULT_KEYWORDS


class PrinterSimError(RuntimeError):
    """The simulated printer could not be started."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class IppPrinterSim:
    def __init__(self, state_dir: Path, *, port: int = 0, name: str = "kofu-a4",
                 side_seconds: float = 0.05) -> None:
        self.state_dir = Path(state_dir)
        self.port = port or free_port()
        self.name = name
        self.side_seconds = side_seconds
        self._proc: subprocess.Popen[bytes] | None = None
        self._daemons: daemons.Daemons | None = None

    @property
    def uri(self) -> str:
        return f"ipp://127.0.0.1:{self.port}/ipp/print"

    @property
    def printed_dir(self) -> Path:
        return self.state_dir / "printed"

    def _command(self) -> Path:
        # ippeveprinter's -c takes a program, not arguments: a wrapper runs our module
        # with this interpreter (the project's venv).
        path = self.state_dir / "engine.sh"
        root = Path(__file__).resolve().parents[2]
        path.write_text(
            f"#!/bin/sh\nPYTHONPATH='{root}'${{PYTHONPATH:+:$PYTHONPATH}} "
            f"exec '{sys.executable}' -m sim.printer.ipp_command"
            ' "$@"\n', encoding="utf-8")
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        return path

    def start(self) -> IppPrinterSim:
        exe = shutil.which("ippeveprinter")
        if exe is None:
            raise PrinterSimError("ippeveprinter not found: install the Debian package "
                                  "cups-ipp-utils")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.printed_dir.mkdir(exist_ok=True)
        spool = self.state_dir / "spool"
        spool.mkdir(exist_ok=True)
        if self._daemons is None:
            self._daemons = daemons.ensure()
        env = dict(os.environ, KOFU_SIM_PRINTER_DIR=str(self.state_dir),
                   KOFU_SIM_PRINTER_SIDE_S=str(self.side_seconds))
        log = (self.state_dir / "ippeveprinter.log").open("ab")
        self._proc = subprocess.Popen(
            # -r off: no DNS-SD advertisement (the kiosk reaches the printer by its URI; a
            # registration also aborts ippeveprinter when the machine's clock is shifted)
            [exe, "-2", "-r", "off", "-p", str(self.port), "-d", str(spool),
             "-f", "application/pdf", "-m", "kofu-sim-a4", "-c", str(self._command()), self.name],
            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.state_dir,
            start_new_session=True,
        )
        log.close()
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                tail = (self.state_dir / "ippeveprinter.log").read_text(errors="replace")[-400:]
                self.stop()
                raise PrinterSimError(f"ippeveprinter exited: {tail.strip()}")
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/", timeout=1.0)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise PrinterSimError("ippeveprinter did not answer")

    def set_fault(self, kind: str, after_sheets: int, *, across_jobs: bool = False) -> None:
        """The next job stops with ``kind`` after ``after_sheets`` whole sheets; with
        ``across_jobs`` the sheets are counted over the jobs that follow (one job per
        certificate copy: paper out after copy 2 of 3 is ``after_sheets=2`` for one-sheet
        copies), and the job that reaches the count stops there."""
        if kind not in FAULT_KEYWORDS:
            raise ValueError(f"unknown fault {kind!r}; known: {', '.join(FAULT_KEYWORDS)}")
        if isinstance(after_sheets, bool) or not isinstance(after_sheets, int) or after_sheets < 0:
            raise ValueError(f"after_sheets must be a whole number >= 0, not {after_sheets!r}")
        tmp = self.state_dir / "fault.json.tmp"
        tmp.write_text(json.dumps({"kind": kind, "after_sheets": after_sheets,
                                   "across_jobs": across_jobs}))
        tmp.replace(self.state_dir / "fault.json")

    def set_tray(self, sheets: int) -> None:
        """Set the main tray's level through ippeveprinter's media form (0 = paper out)."""
        httpx.get(f"http://127.0.0.1:{self.port}/media", timeout=5.0, params={
            "size1": "iso_a4_210x297mm", "type1": "stationery", "level1": str(sheets),
            "size3": "", "type3": "", "level3": "0"}).raise_for_status()

    def service(self) -> None:
        """The clerk clears the fault / refills paper: the printer restarts, same URI."""
        self._terminate()
        self.start()

    def jobs(self) -> list[dict[str, object]]:
        log = self.state_dir / "jobs.jsonl"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]

    def _terminate(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
        self._proc = None

    def stop(self) -> None:
        self._terminate()
        if self._daemons is not None:
            self._daemons.stop()
            self._daemons = None

    def __enter__(self) -> IppPrinterSim:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
