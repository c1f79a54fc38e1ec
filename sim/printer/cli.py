"""`kofu sim printer`: the simulated A4 IPP printer and ESC/POS receipt printer.

Prints one JSON line with the endpoints (IPP URI, receipt host/port, pty) and runs until
interrupted. Printed PDFs land in STATE/a4/printed, receipts in STATE/receipt/*.png.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from sim.printer.daemons import DaemonError
from sim.printer.escpos_sink import EscposSink
from sim.printer.ipp_sim import IppPrinterSim, PrinterSimError


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="kofu sim printer", description=__doc__.splitlines()[0])
    ap.add_argument("--state", type=Path, default=Path(".sim-state/printer"),
                    help="state and output directory (default .sim-state/printer)")
    ap.add_argument("--ipp-port", type=int, default=0, help="IPP port (default: ephemeral)")
    ap.add_argument("--escpos-port", type=int, default=9100, help="receipt TCP port")
    ap.add_argument("--pty", action="store_true", help="also serve the receipt sink on a pty")
    ap.add_argument("--no-a4", action="store_true", help="receipt printer only")
    args = ap.parse_args(argv)

    sink = EscposSink(args.state / "receipt", port=args.escpos_port)
    a4 = None if args.no_a4 else IppPrinterSim(args.state / "a4", port=args.ipp_port)
    try:
        sink.start()
        pty = sink.start_pty() if args.pty else None
        if a4 is not None:
            a4.start()
    except (DaemonError, PrinterSimError, OSError) as exc:
        print(f"kofu sim printer: {exc}", file=sys.stderr)
        sink.stop()
        return 2
    print(json.dumps({
        "a4_uri": a4.uri if a4 else None,
        "a4_output": str(a4.printed_dir) if a4 else None,
        "receipt": {"host": sink.host, "port": sink.port, "pty": pty},
        "receipt_output": str(sink.out_dir),
    }), flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        sink.stop()
        if a4 is not None:
            a4.stop()
    return 0
